"""The testbed ships as its own distribution: its wheel carries every checkpoint file, the SDK's none."""

from __future__ import annotations

import tomllib
from pathlib import Path

DISTRIBUTION = Path(__file__).resolve().parents[1]
REPO = DISTRIBUTION.parents[1]
PACKAGE = DISTRIBUTION / "src" / "unireward_testbed"


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_package_data_covers_every_checkpoint_file():
    patterns = _toml(DISTRIBUTION / "pyproject.toml")["tool"]["setuptools"]["package-data"]["unireward_testbed"]
    shipped = {p for pattern in patterns for p in PACKAGE.glob(pattern) if p.is_file()}
    on_disk = {p for p in (PACKAGE / "checkpoints").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert on_disk and sorted(map(str, on_disk - shipped)) == []


def test_the_sdk_distribution_carries_no_testbed_and_no_weights():
    sdk = _toml(REPO / "pyproject.toml")["tool"]["setuptools"]
    assert sdk["packages"]["find"]["include"] == ["unireward_sdk*", "unireward_builtins*"]
    assert not any(p.endswith((".safetensors", ".bin", ".pt")) for p in sdk["package-data"]["*"])
    for root in sdk["package-dir"].values():
        folder = REPO / root
        assert not list(folder.rglob("*.safetensors")), folder
        assert not [p for p in folder.rglob("*") if p.is_dir() and p.name == "testbed"], folder
