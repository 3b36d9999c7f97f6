"""Ground-truth oracles for the synthetic world: pixels checked against captions, answers against truth.

The image oracle segments foreground pixels by the world's palette, then reads colour (majority),
count (connected components), position (centroid) and shape (row-width profile of the largest blob).
The video oracle tracks the object's centroid over frames to read the direction of motion.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from attrs import frozen
from PIL import Image

from .world import BACKGROUND, COLOURS, COUNT_WORDS, Motion, Question, Scene

_PALETTE = np.array(list(COLOURS.values()), dtype=np.float32)
_PALETTE_NAMES = list(COLOURS)
_FOREGROUND_MIN_DISTANCE = 60.0  # RGB distance from the background that counts as "ink"
_PALETTE_MAX_DISTANCE = 140.0  # ink farther than this from every palette colour is not a shape


@frozen
class ImageReading:
    """What the oracle sees in an image; ``None`` where it sees nothing usable."""

    colour: str | None
    shape: str | None
    position: str | None
    count: int


@frozen
class Judgement:
    """Per-attribute agreement with the truth and their mean, the oracle score in [0, 1]."""

    matches: dict
    score: float


def _as_array(image: Image.Image, size: int = 32) -> np.ndarray:
    img = image.convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.NEAREST)
    return np.asarray(img, dtype=np.float32)


def _palette_labels(pixels: np.ndarray) -> np.ndarray:
    """-1 for background / off-palette pixels, else the index of the nearest palette colour."""
    ink = np.linalg.norm(pixels - np.array(BACKGROUND, dtype=np.float32), axis=-1) > _FOREGROUND_MIN_DISTANCE
    dist = np.linalg.norm(pixels[..., None, :] - _PALETTE, axis=-1)
    labels = dist.argmin(-1)
    labels[~ink | (dist.min(-1) > _PALETTE_MAX_DISTANCE)] = -1
    return labels


def _components(mask: np.ndarray, min_area: int) -> list[np.ndarray]:
    """4-connected components of a boolean mask, as arrays of (row, col), largest first."""
    seen = np.zeros_like(mask, dtype=bool)
    h, w = mask.shape
    blobs = []
    for r0, c0 in zip(*np.nonzero(mask)):
        if seen[r0, c0]:
            continue
        stack, cells = [(r0, c0)], []
        seen[r0, c0] = True
        while stack:
            r, c = stack.pop()
            cells.append((r, c))
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    stack.append((rr, cc))
        if len(cells) >= min_area:
            blobs.append(np.array(cells))
    return sorted(blobs, key=len, reverse=True)


def _shape_of(blob: np.ndarray) -> str:
    """Classify by how the blob's width changes from top to bottom and how full its bounding box is."""
    rows = blob[:, 0]
    top, bottom = rows.min(), rows.max()
    height = bottom - top + 1
    widths = np.array([np.sum(rows == r) for r in range(top, bottom + 1)], dtype=np.float32)
    cols = blob[:, 1]
    fill = len(blob) / float(height * (cols.max() - cols.min() + 1))
    third = max(height // 3, 1)
    upper, lower = widths[:third].mean(), widths[-third:].mean()
    if fill > 0.9:
        return "square"
    if lower > 1.6 * upper:  # widens steadily downwards
        return "triangle"
    return "circle"


def read_image(image: Image.Image, size: int = 32) -> ImageReading:
    labels = _palette_labels(_as_array(image, size))
    inked = labels[labels >= 0]
    if inked.size < 4:
        return ImageReading(None, None, None, 0)
    colour_idx = int(np.bincount(inked, minlength=len(_PALETTE_NAMES)).argmax())
    mask = labels == colour_idx
    blobs = _components(mask, min_area=max(3, size * size // 200))
    if not blobs:
        return ImageReading(_PALETTE_NAMES[colour_idx], None, None, 0)
    rows, cols = np.nonzero(mask)
    cy, cx = rows.mean() / size - 0.5, cols.mean() / size - 0.5
    if abs(cx) >= abs(cy):
        position = "left" if cx < 0 else "right"
    else:
        position = "top" if cy < 0 else "bottom"
    return ImageReading(_PALETTE_NAMES[colour_idx], _shape_of(blobs[0]), position, len(blobs))


def judge_image(image: Image.Image, scene: Scene, size: int = 32) -> Judgement:
    seen = read_image(image, size)
    matches = {
        "colour": seen.colour == scene.colour,
        "shape": seen.shape == scene.shape,
        "position": seen.position == scene.position,
        "count": seen.count == scene.count,
    }
    return Judgement(matches, float(np.mean(list(matches.values()))))


def read_motion(frames: Sequence[Image.Image], size: int = 32) -> tuple[str | None, str | None, str | None]:
    """(colour, shape, direction) of the moving object, from centroids of its pixels per frame."""
    if len(frames) < 2:
        return None, None, None
    centroids = []
    colours = []
    for frame in frames:
        labels = _palette_labels(_as_array(frame, size))
        inked = labels[labels >= 0]
        if inked.size < 4:
            continue
        idx = int(np.bincount(inked, minlength=len(_PALETTE_NAMES)).argmax())
        colours.append(idx)
        rows, cols = np.nonzero(labels == idx)
        centroids.append((rows.mean(), cols.mean()))
    if len(centroids) < 2:
        return None, None, None
    colour = _PALETTE_NAMES[int(np.bincount(colours).argmax())]
    dy = centroids[-1][0] - centroids[0][0]
    dx = centroids[-1][1] - centroids[0][1]
    if max(abs(dx), abs(dy)) < size * 0.1:
        direction = None  # it does not move enough to call
    elif abs(dx) >= abs(dy):
        direction = "right" if dx > 0 else "left"
    else:
        direction = "down" if dy > 0 else "up"
    middle = read_image(frames[len(frames) // 2], size)
    return colour, middle.shape, direction


def judge_video(frames: Sequence[Image.Image], motion: Motion, size: int = 32) -> Judgement:
    colour, shape, direction = read_motion(frames, size)
    matches = {"colour": colour == motion.colour, "shape": shape == motion.shape,
               "direction": direction == motion.direction}
    return Judgement(matches, float(np.mean(list(matches.values()))))


_WORD = re.compile(r"[a-z]+|\d+")  # words, and numbers written as digits


def grade_answer(response: str, question: Question) -> float:
    """1.0 when the response names the gold answer and no other option; else 0.0."""
    words = set(_WORD.findall(response.lower()))
    # accept plural / digit forms of counts and colours spelled "colour"
    digits = {str(n): w for n, w in COUNT_WORDS.items()}
    words |= {digits[w] for w in list(words) if w in digits}
    named = {o for o in question.options if o in words}
    return 1.0 if named == {question.answer} else 0.0
