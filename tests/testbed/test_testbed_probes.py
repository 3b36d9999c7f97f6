"""The probes behind docs/testbed.md run end to end (tiny budgets here; their figures come from full runs)."""

from __future__ import annotations

import random

from unireward_builtins.testbed import checkpoints as C
from unireward_builtins.testbed.probes import main, oracle_pairs, perception, verification
from unireward_builtins.testbed.world import World, perturb_scene


def test_a_verification_mismatch_changes_exactly_the_named_attribute():
    rng = random.Random(0)
    scene = World(0).scene(3)
    for attribute in ("shape", "colour", "position"):
        other = perturb_scene(scene, rng, attributes=(attribute,))
        changed = {a for a in ("shape", "colour", "position", "count") if getattr(other, a) != getattr(scene, a)}
        assert changed == {attribute}


def test_perception_reports_every_question_kind_and_verification():
    result = perception(C.require("base_vlm"), scenes=3)
    assert set(result["accuracy"]) == {"colour", "shape", "position", "count", "verification"}
    assert all(0.0 <= v <= 1.0 for v in result["accuracy"].values())
    assert result["n"]["verification"] == 3


def test_verification_fine_tuning_reports_its_loss(tmp_path):
    result = verification(C.require("base_vlm"), ["colour"], steps=2, out=tmp_path / "probe")
    assert len(result["loss_by_phase"]) == 2 and all(v > 0 for v in result["loss_by_phase"])
    assert (tmp_path / "probe" / "model.safetensors").is_file()


def test_oracle_pairs_trains_on_the_best_and_worst_candidates(tmp_path):
    result = oracle_pairs(C.require("t2i_policy"), prompts=2, samples=1, eval_scenes=2, out=tmp_path,
                          options={"max_steps": 1, "sample_steps": 2, "batch_size": 1})
    assert 0 <= result["pairs"] <= 2
    assert 0.0 <= result["before"] <= 1.0
    assert result["after"] is None if result["pairs"] == 0 else 0.0 <= result["after"] <= 1.0


def test_command_line_prints_json(capsys):
    assert main(["--threads", "1", "perception", "--scenes", "2"]) == 0
    assert '"verification"' in capsys.readouterr().out
