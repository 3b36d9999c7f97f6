"""The committed build command regenerates the testbed checkpoints: end to end on a tiny step budget, and
byte for byte when run twice."""

from __future__ import annotations

import pytest

from unireward_testbed import checkpoints as C
from unireward_testbed.build import build

SCALE = 0.002  # every step count x 0.002: one or a few optimizer steps per model


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("ckpt"), scale=SCALE, log=lambda _: None)


def test_build_writes_every_checkpoint_and_a_manifest(built):
    for name in C.NAMES:
        C.require(name, built)
    manifest = C.read_manifest(built)
    assert manifest["scale"] == SCALE and set(manifest["seconds"]) == set(C.NAMES)
    assert C.verify(built) == []
    # the joint judge and each task's single-task judge, with their held-out accuracy
    assert set(manifest["judge_heldout_pairwise"]) == {"joint", "image_generation", "video_generation",
                                                       "image_understanding", "video_understanding"}
    assert set(manifest["judge_heldout_pairwise"]["joint"]) == set(manifest["judge_heldout_pairwise"]) - {"joint"}
    assert manifest["total_bytes"] <= C.MAX_BYTES
    # nothing that names this machine's paths or timings is left among the compared files
    assert not list(built.rglob("training_report.*"))


def test_a_second_build_is_byte_identical(built, tmp_path):
    again = build(tmp_path / "again", scale=SCALE, only=("base_vlm", "t2i_policy", "t2v_policy"), log=lambda _: None)
    first, second = C.file_hashes(built), C.file_hashes(again)
    for path, digest in second.items():
        assert first[path] == digest, path


def test_verify_compares_with_the_shipped_manifest(built, testbed_cli, capsys):
    # a tiny-budget build differs from the shipped checkpoints, and --verify says so
    assert testbed_cli(["testbed", "build", "--out", str(built / "verify"), "--scale", str(SCALE),
                        "--only", "base_vlm", "--verify"]) == 1
    assert "differ from the shipped checkpoints" in capsys.readouterr().err


def test_pretraining_rate_warms_up_then_holds_or_decays_to_zero():
    from unireward_testbed.policies import lr_factor

    assert lr_factor(0, 1000, decay=False) == lr_factor(0, 1000, decay=True) == 1 / 50
    assert lr_factor(49, 1000, decay=False) == 1.0 and lr_factor(999, 1000, decay=False) == 1.0
    decayed = [lr_factor(s, 1000, decay=True) for s in range(1000)]
    assert decayed[49] == 1.0 - 49 / 1000
    assert all(a >= b for a, b in zip(decayed[49:], decayed[50:]))  # never rises after the warm-up
    assert decayed[-1] == pytest.approx(1 / 1000)  # the last step still moves, by a thousandth of the rate


def test_verify_compares_only_the_models_it_built():
    from unireward_testbed.commands import differing_files

    shipped = {"t2v_policy/unet/w.safetensors": "a", "t2v_policy/unet/config.json": "b", "judge/w.safetensors": "c"}
    same = {"t2v_policy/unet/w.safetensors": "a", "t2v_policy/unet/config.json": "b"}
    assert differing_files(shipped, same, ["t2v_policy"]) == []  # the judge was not built: no difference
    changed = {**same, "t2v_policy/unet/w.safetensors": "z", "t2v_policy/extra.json": "e"}
    assert differing_files(shipped, changed, ["t2v_policy"]) == ["t2v_policy/extra.json",
                                                                  "t2v_policy/unet/w.safetensors"]
    assert differing_files(shipped, same, ["t2v_policy", "judge"]) == ["judge/w.safetensors"]
