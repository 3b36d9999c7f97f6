"""Shared helpers for the pair-construction tests: manifests with real files, configs, CLI subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def write_png(path: Path, color: tuple[int, int, int], size: int = 32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", (size, size), color)
    # a small mark so images differ in content, not only in colour
    img.putpixel((size // 2, size // 2), (255 - color[0], 255 - color[1], 255 - color[2]))
    img.save(path)
    return path


def understanding_manifest(root: Path, prompts: int = 12, n: int = 4) -> Path:
    """Image-understanding prompts: a context image, a question, n response texts (fake-judge quality by text)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for p in range(prompts):
        write_png(root / "ctx" / f"q{p}.png", ((40 * p) % 256, 100, 200))
        lines.append({"id": f"q{p}", "question": f"What is shown in picture {p}?", "context": [f"ctx/q{p}.png"],
                      "responses": [f"response {k} for {p}" for k in range(n)]})
    path = root / "prompts.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def generation_manifest(root: Path, prompts: int = 4, n: int = 4) -> Path:
    """Image-generation prompts: a caption and n PNG candidates written here."""
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for p in range(prompts):
        files = []
        for k in range(n):
            rel = f"imgs/p{p}_{k}.png"
            write_png(root / rel, ((60 * k + 13 * p) % 256, (90 * p) % 256, (30 * k) % 256))
            files.append(rel)
        lines.append({"id": f"p{p}", "prompt": f"a picture number {p}", "candidates": files})
    path = root / "prompts.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(path: Path, **keys) -> Path:
    path.write_text("[pairs]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in keys.items()))
    return path


def ranking(**options) -> list[dict]:
    """The paper's two stages, pair ranking with ``options``."""
    return [{"name": "pair_ranking", "options": options}, {"name": "point_sifting"}]


def fake_job_keys(manifest: Path, output: Path, **extra) -> dict:
    keys = dict(manifest=str(manifest), output=str(output), task="image_understanding",
                judge_factory="unireward_sdk.testing.filter:HashJudge", head_options={"failure_rate": 0.15},
                batch_size=3, seed=7, progress=False)
    keys.update(extra)
    return keys


def cli(args, env_extra=None, timeout=120, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    return subprocess.run([PYTHON, "-m", "unireward_sdk", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, **kw)


def dataset_bytes(output: Path) -> bytes:
    from unireward_sdk.pairs import PairDataset

    return PairDataset(output).merged_bytes()


def write_mp4(path: Path, colour: tuple[int, int, int], frames: int = 8, size: int = 32) -> Path:
    """A short real H.264 clip: a square moving across a coloured background."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            img = np.zeros((size, size, 3), dtype=np.uint8)
            img[:] = colour
            x = (i * 3) % (size - 8)
            img[12:20, x:x + 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def video_manifest(root: Path, prompts: int = 1, n: int = 2) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for p in range(prompts):
        files = []
        for k in range(n):
            rel = f"vids/p{p}_{k}.mp4"
            write_mp4(root / rel, ((70 * k + 20) % 256, (50 * p) % 256, 120))
            files.append(rel)
        lines.append({"id": f"v{p}", "prompt": f"a square moving right, clip {p}", "candidates": files})
    path = root / "prompts.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
