"""A synthetic world with ground truth: coloured shapes in images and moving shapes in short videos.

Everything is generated procedurally and deterministically from a seed, so every caption, question and
answer is known exactly and an oracle (:mod:`.oracle`) can check any image or video against it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import numpy as np
from attrs import field, frozen
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 180, 40),
    "blue": (40, 60, 220),
    "yellow": (235, 210, 30),
}
POSITIONS = ("left", "right", "top", "bottom")
DIRECTIONS = ("left", "right", "up", "down")
COUNT_WORDS = {1: "one", 2: "two", 3: "three"}
BACKGROUND = (245, 245, 245)
VIDEO_FRAMES = 8

# where the centre of a shape sits for each position, as fractions of the canvas
_ANCHORS = {"left": (0.27, 0.5), "right": (0.73, 0.5), "top": (0.5, 0.27), "bottom": (0.5, 0.73)}
_STEPS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


@frozen
class Scene:
    """Ground truth of one image: ``count`` shapes of one kind and colour, grouped at ``position``."""

    shape: str
    colour: str
    position: str
    count: int = 1

    def caption(self) -> str:
        if self.count == 1:
            return f"a {self.colour} {self.shape} on the {self.position}"
        return f"{COUNT_WORDS[self.count]} {self.colour} {self.shape}s on the {self.position}"


@frozen
class Motion:
    """Ground truth of one video: one shape moving in ``direction`` across the frames."""

    shape: str
    colour: str
    direction: str

    def caption(self) -> str:
        return f"a {self.colour} {self.shape} moving {self.direction}"


@frozen
class Question:
    """A question about a scene or a motion, with its one-word gold answer and the wrong options."""

    text: str
    answer: str
    options: tuple[str, ...] = field(converter=tuple)
    attribute: str = ""


def render_scene(scene: Scene, size: int = 32) -> Image.Image:
    """Draw a scene; shapes of one group are spread along the axis perpendicular to the position."""
    img = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(img)
    cx, cy = _ANCHORS[scene.position]
    radius = size * {1: 0.16, 2: 0.11, 3: 0.085}[scene.count]
    spread = size * 0.3  # keeps grouped shapes apart so they stay countable
    offsets = [0.0] if scene.count == 1 else list(np.linspace(-spread, spread, scene.count))
    horizontal_group = scene.position in ("top", "bottom")
    for off in offsets:
        x = cx * size + (off if horizontal_group else 0.0)
        y = cy * size + (0.0 if horizontal_group else off)
        _draw_shape(draw, scene.shape, x, y, radius, COLOURS[scene.colour])
    return img


def render_motion(motion: Motion, size: int = 32, frames: int = VIDEO_FRAMES) -> list[Image.Image]:
    """Draw a short clip: the shape travels across the canvas in ``direction``."""
    dx, dy = _STEPS[motion.direction]
    radius = size * 0.14
    travel = size * 0.5
    out = []
    for i in range(frames):
        t = i / max(frames - 1, 1) - 0.5
        x = size / 2 + dx * travel * t
        y = size / 2 + dy * travel * t
        img = Image.new("RGB", (size, size), BACKGROUND)
        _draw_shape(ImageDraw.Draw(img), motion.shape, x, y, radius, COLOURS[motion.colour])
        out.append(img)
    return out


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, x: float, y: float, r: float, colour) -> None:
    if shape == "circle":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    elif shape == "square":
        s = r * 0.9  # same area order as the circle so size does not give the shape away
        draw.rectangle((x - s, y - s, x + s, y + s), fill=colour)
    elif shape == "triangle":
        draw.polygon([(x, y - r * 1.1), (x - r * 1.15, y + r * 0.8), (x + r * 1.15, y + r * 0.8)], fill=colour)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def scene_questions(scene: Scene) -> list[Question]:
    noun = scene.shape if scene.count == 1 else f"{scene.shape}s"
    return [
        Question(f"What color is the {noun}?", scene.colour, tuple(COLOURS), "colour"),
        Question("What shape is in the image?", scene.shape, SHAPES, "shape"),
        Question(f"Where is the {noun}?", scene.position, POSITIONS, "position"),
        Question("How many shapes are there?", COUNT_WORDS[scene.count], tuple(COUNT_WORDS.values()), "count"),
    ]


def motion_questions(motion: Motion) -> list[Question]:
    return [
        Question(f"Which direction does the {motion.shape} move?", motion.direction, DIRECTIONS, "direction"),
        Question("What color is the moving shape?", motion.colour, tuple(COLOURS), "colour"),
        Question("What shape is moving?", motion.shape, SHAPES, "shape"),
    ]


def caption_corpus(repeats: int = 10) -> list[str]:
    """Every single-shape caption and every motion caption of the world, ``repeats`` times: the text the
    diffusion policies' tokenizers learn their merges from, so each word of a caption is one token."""
    import itertools

    scenes = [Scene(*combo).caption() for combo in itertools.product(SHAPES, COLOURS, POSITIONS)]
    motions = [Motion(*combo).caption() for combo in itertools.product(SHAPES, COLOURS, DIRECTIONS)]
    return (scenes + motions) * repeats


class World:
    """Deterministic sampler of scenes, motions and questions under one seed."""

    def __init__(self, seed: int = 0, max_count: int = 1):
        self.seed = seed
        self.max_count = max_count

    def _rng(self, stream: str, index: int) -> random.Random:
        # one independent stream per (purpose, index): adding items never changes earlier ones
        return random.Random(f"{self.seed}/{stream}/{index}")

    def scene(self, index: int) -> Scene:
        rng = self._rng("scene", index)
        return Scene(rng.choice(SHAPES), rng.choice(list(COLOURS)), rng.choice(POSITIONS),
                     rng.randint(1, self.max_count))

    def motion(self, index: int) -> Motion:
        rng = self._rng("motion", index)
        return Motion(rng.choice(SHAPES), rng.choice(list(COLOURS)), rng.choice(DIRECTIONS))

    def scenes(self, n: int, start: int = 0) -> list[Scene]:
        return [self.scene(i) for i in range(start, start + n)]

    def motions(self, n: int, start: int = 0) -> list[Motion]:
        return [self.motion(i) for i in range(start, start + n)]

    def scene_question(self, index: int) -> tuple[Scene, Question]:
        scene = self.scene(index)
        questions = [q for q in scene_questions(scene) if q.attribute != "count" or self.max_count > 1]
        return scene, self._rng("scene-question", index).choice(questions)

    def motion_question(self, index: int) -> tuple[Motion, Question]:
        motion = self.motion(index)
        return motion, self._rng("motion-question", index).choice(motion_questions(motion))

    def iter_scenes(self, start: int = 0) -> Iterator[Scene]:
        i = start
        while True:
            yield self.scene(i)
            i += 1


def perturb_scene(scene: Scene, rng: random.Random, n_changes: int = 1,
                  attributes: Sequence[str] = ("shape", "colour", "position")) -> Scene:
    """A scene that differs from ``scene`` in ``n_changes`` of ``attributes`` (for negatives and preferences)."""
    attrs_to_change = rng.sample(list(attributes), k=min(n_changes, len(attributes)))
    values = {"shape": scene.shape, "colour": scene.colour, "position": scene.position}
    pools: dict[str, Sequence[str]] = {"shape": SHAPES, "colour": list(COLOURS), "position": POSITIONS}
    for a in attrs_to_change:
        values[a] = rng.choice([v for v in pools[a] if v != values[a]])
    return Scene(values["shape"], values["colour"], values["position"], scene.count)


def perturb_motion(motion: Motion, rng: random.Random, n_changes: int = 1) -> Motion:
    attrs_to_change = rng.sample(["shape", "colour", "direction"], k=min(n_changes, 3))
    values = {"shape": motion.shape, "colour": motion.colour, "direction": motion.direction}
    pools: dict[str, Sequence[str]] = {"shape": SHAPES, "colour": list(COLOURS), "direction": DIRECTIONS}
    for a in attrs_to_change:
        values[a] = rng.choice([v for v in pools[a] if v != values[a]])
    return Motion(values["shape"], values["colour"], values["direction"])
