"""Fixtures for the vlm_dpo tests: one tiny Qwen2-VL policy, coloured images and videos."""

from __future__ import annotations

from pathlib import Path

import pytest
from vlm_toys import BLUE, RED, write_mp4, write_png


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    # several test processes share two cores here; two torch threads each made steps ~100x slower
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory) -> Path:
    from unireward_sdk.testing.tiny import build_tiny_judge

    return build_tiny_judge(tmp_path_factory.mktemp("tiny-vlm-policy"), arch="qwen2_vl")


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("vlm-media")
    return {"red_png": write_png(root / "red.png", RED), "blue_png": write_png(root / "blue.png", BLUE),
            "red_mp4": write_mp4(root / "red.mp4", RED), "blue_mp4": write_mp4(root / "blue.mp4", BLUE)}
