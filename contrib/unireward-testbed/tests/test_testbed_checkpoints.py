"""The shipped testbed checkpoints: complete, matching their manifest, safetensors only, within the size cap."""

from __future__ import annotations

from unireward_testbed import checkpoints as C


def test_shipped_checkpoints_match_their_manifest():
    assert C.verify() == []


def test_shipped_checkpoints_fit_the_package_cap():
    manifest = C.read_manifest()
    assert manifest is not None
    assert C.total_bytes() == manifest["total_bytes"] <= C.MAX_BYTES


def test_shipped_weights_are_safetensors_only():
    weights = [p for p in C.checkpoint_dir().rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl")]
    assert weights == []
    # base, QA policy, joint judge and four single-task judges; two UNets with their text encoders
    assert len(list(C.checkpoint_dir().rglob("*.safetensors"))) == 11


def test_the_build_settings_in_the_manifest_are_the_build_commands():
    from unireward_testbed.build import SETTINGS

    assert C.read_manifest()["settings"] == SETTINGS
