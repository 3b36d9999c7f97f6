"""Session-wide tiny judges for the judging tests: built once, saved locally, loaded via from_pretrained."""

from __future__ import annotations

import pytest


def _build(tmp_path_factory, arch: str):
    from unireward_sdk.testing.tiny import build_tiny_judge

    return build_tiny_judge(tmp_path_factory.mktemp(f"tiny_{arch}"), arch=arch, seed=0)


@pytest.fixture(scope="session")
def tiny_qwen2_vl(tmp_path_factory):
    """Path of a saved random tiny Qwen2-VL judge (model + processor)."""
    return _build(tmp_path_factory, "qwen2_vl")


@pytest.fixture(scope="session")
def tiny_qwen2_5_vl(tmp_path_factory):
    """Path of a saved random tiny Qwen2.5-VL judge (model + processor)."""
    return _build(tmp_path_factory, "qwen2_5_vl")


@pytest.fixture(scope="session")
def tiny_llava_onevision(tmp_path_factory):
    """Path of a saved random tiny LLaVA-OneVision judge (transformers format)."""
    return _build(tmp_path_factory, "llava_onevision")
