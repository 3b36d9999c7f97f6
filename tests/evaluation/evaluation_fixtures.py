"""Helpers for the evaluation tests: fixture files in each benchmark's published format and fake heads.

Row contents are chosen so metric values are easy to compute by hand in the tests. Imported by name
(``from evaluation_fixtures import ...``); the module name is unique so it never clashes with another
folder's conftest.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

from unireward_sdk.records import JudgeItem, ParseStatus, Verdict

# --- media writers ----------------------------------------------------------------------------------


def png_bytes(level: int, size: int = 64) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), (level % 256, (3 * level) % 256, (7 * level) % 256)).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path: Path, level: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(level))
    return path


def write_mp4(path: Path, level: int, frames: int = 8, size: int = 64) -> Path:
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        for i in range(frames):
            pixels = np.full((size, size, 3), (level * 16 + i * 8) % 256, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_jsonl(path: Path, rows: Sequence[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: Sequence[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows)), path)
    return path


# --- benchmark rows ---------------------------------------------------------------------------------

GENAI_VOTES = ("leftvote", "rightvote", "tievote", "bothbad_vote", "leftvote", "rightvote")
VIDEOGEN_ROWS = (  # Overall, VQ, MQ, TA
    ("A", "A", "B", "same"),
    ("B", "B", "B", "A"),
    ("same", "same", "A", "B"),
    ("A", "B", "A", "A"),
)
VLRB_ROWS = (  # id, human_ranking, category under the benchmark's grouping
    ("RLAIF-V-14", [0, 1], "hallucination"),
    ("hallucination_pair-3921", [1, 0], "hallucination"),
    ("mathverse_3414", [0, 1], "reasoning"),
    ("mmmu_pro_test_Energy_and_Power_312", [1, 0], "reasoning"),
    ("wildvision-battle-7", [0, 1], "general"),
    ("LRVInstruction-000000007746", [1, 0], "general"),
)


def genai_image_rows(root: Path, embed: bool) -> list[dict]:
    rows = []
    for i, vote in enumerate(GENAI_VOTES):
        if embed:
            left = {"bytes": png_bytes(2 * i), "path": f"left_{i}.png"}
            right = {"bytes": png_bytes(2 * i + 1), "path": None}
        else:
            left = str(write_png(root / "images" / f"left_{i}.png", 2 * i).relative_to(root))
            right = str(write_png(root / "images" / f"right_{i}.png", 2 * i + 1).relative_to(root))
        rows.append({"prompt": f"a red cube number {i}", "left_image": left, "right_image": right,
                     "vote_type": vote, "left_model": "m1", "right_model": "m2", "judge": "human"})
    return rows


GENAI_EDIT_VOTES = ("leftvote", "tievote", "bothbad_vote", "rightvote")


def genai_edit_rows(root: Path, embed: bool) -> list[dict]:
    """GenAI-Bench image editing rows (config image_edition): source image, captions, instruction, two edits."""
    rows = []
    for i, vote in enumerate(GENAI_EDIT_VOTES):
        images = {}
        for k, column in enumerate(("source_image", "left_output_image", "right_output_image")):
            level = 100 + 3 * i + k
            if embed:
                images[column] = {"bytes": png_bytes(level), "path": f"{column}_{i}.png"}
            else:
                images[column] = str(write_png(root / "images" / f"{column}_{i}.png", level).relative_to(root))
        rows.append({"source_prompt": f"a cat on a sofa {i}", "target_prompt": f"a dog on a sofa {i}",
                     "instruct_prompt": f"turn the cat into a dog {i}", "left_model": "editor-1",
                     "right_model": "editor-2", "vote_type": vote, **images})
    return rows


def vlrb_rows(root: Path, embed: bool) -> list[dict]:
    rows = []
    for i, (item_id, ranking, _) in enumerate(VLRB_ROWS):
        row = {"id": item_id, "query": f"What is in image {i}?",
               "response": [f"answer zero for {i}", f"answer one for {i}"], "human_ranking": ranking,
               "models": ["m0", "m1"], "judge": "human", "query_source": "test"}
        if embed:
            row["image"] = {"bytes": png_bytes(40 + i), "path": f"{item_id}.png"}
        else:  # the GitHub release: images/<source>/<id>.png next to data.jsonl
            folder = {"hallucination": "povid", "reasoning": "reasoning_tasks", "general": "vlfeedback"}[VLRB_ROWS[i][2]]
            if item_id.startswith("RLAIF"):
                folder = "rlaif-v"
            row["image_path"] = str(write_png(root / "images" / folder / f"{item_id}.png", 40 + i).relative_to(root))
        rows.append(row)
    return rows


# --- fake heads -------------------------------------------------------------------------------------


class ScriptedHead:
    """Answers from a table ``(item_id, first candidate id) -> winner | None`` (None: an unparsed failure).

    Pairs absent from the table get ``default`` (a callable of the item, or a fixed winner). Records calls.
    """

    name = "scripted"

    def __init__(self, table: dict | None = None, default=None):
        self.table = dict(table or {})
        self.default = default
        self.calls: list[list[str]] = []

    def _answer(self, item: JudgeItem):
        key = (item.id, item.candidates[0].id)
        if key in self.table:
            return self.table[key]
        return self.default(item) if callable(self.default) else self.default

    def judge_pairwise(self, items):
        items = list(items)
        self.calls.append([it.id for it in items])
        out = []
        for it in items:
            winner = self._answer(it)
            if winner is None:
                out.append(Verdict.failure(it.id, ParseStatus.UNPARSED, "no verdict phrase", raw="gibberish"))
            else:
                out.append(Verdict(item_id=it.id, winner=winner, raw=f"says {winner}"))
        return out

    def score_pointwise(self, items):  # pragma: no cover - pairwise fake
        raise NotImplementedError


def oracle(gold_by_first: dict[str, str]):
    """A default for ScriptedHead that knows the gold label keyed by the *first* candidate id shown."""
    return lambda item: gold_by_first[item.candidates[0].id]


# --- a stand-in for the `datasets` module -----------------------------------------------------------


def stand_in_datasets(splits: dict[str, list[dict]], image_columns: Sequence[str], calls: dict):
    """A module with ``load_dataset`` and ``Image`` enough for the hub loaders: each split holds ``rows``,
    its ``image_columns`` are ``Image`` features. ``calls`` records ``load`` (hub id, config) and every
    ``cast`` (column, decode)."""
    import types

    class Image:  # named like datasets.Image: the loaders cast columns of this feature type
        def __init__(self, decode=True):
            self.decode = decode

    class Split:
        def __init__(self, rows):
            self.rows = rows
            self.features = {**{c: Image() for c in image_columns}, "prompt": object()}

        def cast_column(self, column, feature):
            calls.setdefault("cast", []).append((column, feature.decode))
            return self

        def __iter__(self):
            return iter(self.rows)

    def load_dataset(hub_id, config=None):
        calls["load"] = (hub_id, config)
        return {name: Split(rows) for name, rows in splits.items()}

    return types.SimpleNamespace(load_dataset=load_dataset, Image=Image)
