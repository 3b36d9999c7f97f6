"""Toy preference records for the judge-training tests (solid-colour squares with a known preference)."""

from __future__ import annotations

import json
import random
from pathlib import Path

# the toy preference: red beats green beats blue, whatever the caption says
RANK = {"red": 3, "green": 2, "blue": 1}
RGB = {"red": (220, 30, 30), "green": (30, 180, 40), "blue": (40, 60, 220)}
SHORT_TEMPLATE_ID = "image_generation.pairwise_rank.qwen_v1.short"
# a short prompt keeps CPU training fast; it extends the qwen_v1 template (same verdict phrases, readout)
SHORT_TEMPLATE = f'''[[template]]
id = "{SHORT_TEMPLATE_ID}"
extends = "image_generation.pairwise_rank.qwen_v1"
text = "Text Caption: [{{prompt}}]\\nWhich image is better?"
'''


def colour_square(folder: Path, colour: str, rng: random.Random, size: int = 32) -> str:
    """A square of ``colour`` with a random shade, so every image (train or held out) is a new file."""
    shade = tuple(max(0, min(255, v + rng.randint(-25, 25))) for v in RGB[colour])
    path = folder / f"{colour}-{rng.getrandbits(40):010x}.png"
    from PIL import Image

    Image.new("RGB", (size, size), shade).save(path)
    return path.name


def toy_records(folder: Path, n: int, seed: int, *, pointwise: bool = False, template: str | None = None,
                losers: tuple[str, ...] = ("green", "blue")) -> list[dict]:
    """Records in the agreed format (media paths relative to ``folder``): pairs where the red square wins
    (always written as candidate A, so only the trainer's balancing puts it second), and optionally points
    scored by rank on a 1-5 scale."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    out = []
    for i in range(n):
        loser = rng.choice(losers)
        row = {"id": f"pair-{seed}-{i}", "task": "image_generation", "mode": "pairwise", "prompt": "a red square",
               "candidates": [{"path": colour_square(folder, "red", rng)}, {"path": colour_square(folder, loser, rng)}],
               "label": "A", "truth": "A"}
        if template:
            row["template"] = template
        out.append(row)
        if pointwise:
            colour = rng.choice(list(RANK))
            out.append({"id": f"point-{seed}-{i}", "task": "image_generation", "mode": "pointwise",
                        "prompt": "a red square", "candidates": [{"path": colour_square(folder, colour, rng)}],
                        "score": 1 + 2 * (RANK[colour] - 1), "scale": [1, 5]})
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
