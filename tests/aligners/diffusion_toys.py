"""Toy preferences for the aligner tests: red beats blue, as Pick-a-Pic and VideoDPO exports.

Imported by name (``from diffusion_toys import ...``); the module name is unique across the test tree.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

RED = (220, 30, 30)
BLUE = (30, 30, 220)


def png_bytes(color, size: int = 16) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="PNG")
    return buffer.getvalue()


def write_clip(path: Path, color, frames: int = 4, size: int = 16) -> Path:
    from unireward_builtins.aligners.video_diffusion_dpo.trainer import write_mp4

    array = np.zeros((frames, size, size, 3), np.uint8)
    array[...] = color
    array[:, : size // 4] = 255  # a white band, so clips are not flat fields
    return write_mp4(array, path, fps=4)


def pickapic_rows(decided: int = 6, ties: int = 2) -> list[dict]:
    """Red preferred in every decided row, on either side (label_0 says which); ties at the end."""
    rows = []
    for i in range(decided):
        red_first = i % 2 == 0
        rows.append({
            "caption": "a square",
            "jpg_0": png_bytes(RED if red_first else BLUE),
            "jpg_1": png_bytes(BLUE if red_first else RED),
            "label_0": 1.0 if red_first else 0.0,
        })
    for _ in range(ties):
        rows.append({"caption": "a square", "jpg_0": png_bytes((0, 200, 0)), "jpg_1": png_bytes((0, 0, 0)),
                     "label_0": 0.5})
    return rows


def write_pickapic_parquet(path: Path, rows: list[dict]) -> Path:
    """The way `unireward pairs export --format pickapic` writes it: datasets, binary columns, parquet."""
    import datasets

    features = datasets.Features({"caption": datasets.Value("string"), "jpg_0": datasets.Value("binary"),
                                  "jpg_1": datasets.Value("binary"), "label_0": datasets.Value("float64")})
    datasets.Dataset.from_list(rows, features=features).to_parquet(str(path))
    return path


def write_videodpo_jsonl(folder: Path, pairs: int = 2, frames: int = 4) -> Path:
    """VideoDPO rows with clip paths relative to the JSONL's folder: red clips chosen, blue rejected."""
    folder.mkdir(parents=True, exist_ok=True)
    red = write_clip(folder / "red.mp4", RED, frames)
    blue = write_clip(folder / "blue.mp4", BLUE, frames)
    path = folder / "videodpo.jsonl"
    with path.open("w") as fh:
        for _ in range(pairs):
            fh.write(json.dumps({"caption": "a moving square", "chosen": red.name, "rejected": blue.name}) + "\n")
    return path
