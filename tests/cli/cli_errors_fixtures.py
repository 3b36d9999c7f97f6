"""Fixtures for the command-line error tests: a tiny local judge (built once, never downloaded), small images,
an MP4, and files that are broken in the ways users meet (a cut MP4, an MP4 under a .png name, bytes that are
no image). Test modules import the fixtures they use by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unireward_sdk.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_judge(tmp_path_factory) -> Path:
    """A saved random tiny Qwen2.5-VL judge: loads offline through from_pretrained like a released one."""
    from unireward_sdk.testing.tiny import build_tiny_judge

    return Path(build_tiny_judge(tmp_path_factory.mktemp("tiny_judge"), arch="qwen2_5_vl", seed=0, vocab_size=1000))


def write_mp4(path: Path, frames: int = 8, size: int = 32, faststart: bool = False) -> Path:
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        for i in range(frames):
            pixels = np.full((size, size, 3), (i * 24) % 256, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def media(tmp_path) -> dict[str, Path]:
    """red.png, blue.png, clip.mp4, and broken files: notimage.png (text bytes), disguised.png (an MP4 under
    an image name), cut.mp4 (a faststart MP4 cut inside its index)."""
    from PIL import Image

    files = {}
    for colour in ("red", "blue"):
        files[colour] = tmp_path / f"{colour}.png"
        Image.new("RGB", (32, 32), colour).save(files[colour])
    files["clip"] = write_mp4(tmp_path / "clip.mp4")
    files["clip2"] = write_mp4(tmp_path / "clip2.mp4", frames=9)
    files["notimage"] = tmp_path / "notimage.png"
    files["notimage"].write_text("these bytes are no picture\n" * 20)
    files["disguised"] = tmp_path / "disguised.png"
    files["disguised"].write_bytes(files["clip"].read_bytes())
    whole = write_mp4(tmp_path / "faststart.mp4", faststart=True).read_bytes()
    files["cut"] = tmp_path / "cut.mp4"
    files["cut"].write_bytes(whole[:200])  # ends inside the 'moov' index at the front of the file
    return files


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``unireward ARGV`` in this process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_process(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m unireward_sdk ARGV`` as a separate process, importing this checkout."""
    environ = dict(os.environ, **(env or {}))
    environ["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "plugins"), environ.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "unireward_sdk", *map(str, argv)], capture_output=True, text=True,
                          env=environ, cwd=cwd, timeout=300)


def jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]
