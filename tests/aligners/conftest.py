"""Fixtures for the aligner tests: tiny diffusion models and toy pair exports (see diffusion_toys)."""

from __future__ import annotations

from pathlib import Path

import pytest
from diffusion_toys import pickapic_rows, write_pickapic_parquet, write_videodpo_jsonl


@pytest.fixture(scope="session")
def tiny_t2i(tmp_path_factory) -> Path:
    from unireward_sdk.testing.tiny_diffusion import build_tiny_t2i

    return build_tiny_t2i(tmp_path_factory.mktemp("tiny-t2i"), sample_size=16)


@pytest.fixture(scope="session")
def tiny_t2v(tmp_path_factory) -> Path:
    from unireward_sdk.testing.tiny_diffusion import build_tiny_t2v

    return build_tiny_t2v(tmp_path_factory.mktemp("tiny-t2v"), sample_size=16)


@pytest.fixture(scope="session")
def pickapic_parquet(tmp_path_factory) -> Path:
    return write_pickapic_parquet(tmp_path_factory.mktemp("pickapic") / "pairs.parquet", pickapic_rows())


@pytest.fixture(scope="session")
def videodpo_jsonl(tmp_path_factory) -> Path:
    return write_videodpo_jsonl(tmp_path_factory.mktemp("videodpo"))
