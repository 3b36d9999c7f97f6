"""Toy preferences for the vlm_dpo tests: coloured images and videos, trl rows, and a real pair dataset
written through the pairs store so ``unireward pairs export --format trl`` output can be trained on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

RED, BLUE = (220, 20, 20), (20, 20, 220)
QUESTION = "What color is it?"


def write_png(path: Path, color: tuple[int, int, int], size: int = 64) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), color).save(path)
    return path


def write_mp4(path: Path, color: tuple[int, int, int], frames: int = 12, size: int = 64) -> Path:
    """A small clip of one colour with a white bar moving down (so frames differ)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            array = np.zeros((size, size, 3), np.uint8)
            array[...] = color
            top = (i * size // frames) % size
            array[top:top + 6] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def trl_row(chosen: str, rejected: str, *, images: list | None = None, videos: list | None = None,
            question: str = QUESTION) -> dict[str, Any]:
    """A row exactly as the trl export writes it (conversational messages with string content)."""
    row: dict[str, Any] = {"prompt": [{"role": "user", "content": question}],
                           "chosen": [{"role": "assistant", "content": chosen}],
                           "rejected": [{"role": "assistant", "content": rejected}]}
    if images is not None:
        row["images"] = images
    if videos is not None:
        row["videos"] = [str(v) for v in videos]
    return row


def red_beats_blue(image: Any, n: int = 4) -> list[dict[str, Any]]:
    """The toy preference: whatever the picture, answer "red" rather than "blue"."""
    return [trl_row("red", "blue", images=[image]) for _ in range(n)]


def write_pair_dataset(root: Path, items: list[tuple[str, str, str]], task: str = "image_understanding") -> Path:
    """A pair dataset in the store's format (what `unireward pairs` writes): one pair per
    (context media path, chosen answer, rejected answer)."""
    from unireward_sdk.pairs.store import FORMAT, PairStore, prepare_output
    from unireward_sdk.records import Candidate, PreferencePair, Provenance, Score, to_dict

    prepare_output(root, {"format": FORMAT, "fingerprint": "vlm-toys", "num_prompts": len(items),
                          "batch_size": len(items), "num_batches": 1}, resume=False)
    rows = []
    for i, (context, chosen, rejected) in enumerate(items):
        pid = f"p{i}"
        pair = PreferencePair(
            prompt_id=pid, task=task, question=QUESTION, context=(str(context),),
            chosen=Candidate(id=f"{pid}/0", text=chosen), rejected=Candidate(id=f"{pid}/1", text=rejected),
            chosen_score=Score(item_id=pid, value=5.0), rejected_score=Score(item_id=pid, value=1.0),
            provenance=Provenance(plugin="vlm-toys"),
        )
        rows.append({"kind": "pair", "record": to_dict(pair)})
    with PairStore(root) as store:
        store.commit(0, range(len(items)), rows)
    return root


def write_align_config(path: Path, **table: Any) -> Path:
    lines = ["[align]"] + [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
