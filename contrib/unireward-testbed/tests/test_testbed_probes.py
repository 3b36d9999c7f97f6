"""The probes behind docs/testbed.md run end to end (tiny budgets here; their figures come from full runs)."""

from __future__ import annotations

import random

import pytest

from unireward_testbed import checkpoints as C
from unireward_testbed.probes import learnability, oracle_pairs, perception, verification
from unireward_testbed.world import World, perturb_scene


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


@pytest.mark.parametrize("checks", [False, True])
def test_verification_fine_tuning_reports_its_loss_and_accuracy(tmp_path, checks):
    result = verification(C.require("base_vlm"), ["colour"], steps=2, checks=checks, held_out=4,
                          out=tmp_path / "probe")
    assert len(result["loss_by_phase"]) == 2 and all(v > 0 for v in result["loss_by_phase"])
    assert 0.0 <= result["held_out_accuracy"] <= 1.0 and result["checks"] is checks
    assert (tmp_path / "probe" / "model.safetensors").is_file()


def test_verification_checks_put_both_values_next_to_each_other():
    from unireward_testbed.probes import verification_examples

    [(parts, answer)] = verification_examples(World(0), ["colour"], checks=True)(random.Random(1), 1)
    checks, verdict = answer.split("\n")
    assert verdict in ("yes", "no") and checks.endswith(": 3" if verdict == "yes" else ": 2")


def test_oracle_pairs_trains_on_the_best_and_worst_candidates(tmp_path):
    result = oracle_pairs(C.require("t2i_policy"), prompts=2, samples=1, eval_scenes=2, out=tmp_path,
                          options={"max_steps": 1, "sample_steps": 2, "batch_size": 1})
    assert 0 <= result["pairs"] <= 2
    assert result["options"]["lora"] is True  # the demo's text-to-image training: LoRA on the cross-attention
    assert 0.0 <= result["before"] <= 1.0
    assert result["after"] is None if result["pairs"] == 0 else 0.0 <= result["after"] <= 1.0


def test_learnability_fine_tunes_every_weight_on_true_renders(tmp_path):
    result = learnability(C.require("t2i_policy"), steps=1, samples=1, out=tmp_path,
                          options={"sample_steps": 2, "batch_size": 2})
    # the gate measures what the architecture can learn, not what the demo's LoRA reaches
    assert result["options"]["lora"] is False and result["options"]["learning_rate"] == 1e-4
    assert not any(key.startswith("lora_") for key in result["options"])
    assert set(result["change"]) == {"colour", "shape", "position", "count"}
    assert result["every_attribute_improves"] == all(v > 0 for v in result["change"].values())


def test_command_line_prints_json(testbed_cli, capsys):
    assert testbed_cli(["testbed", "probe", "--threads", "1", "perception", "--scenes", "2"]) == 0
    assert '"verification"' in capsys.readouterr().out


def test_qa_oracle_pairs_trains_on_a_right_and_a_wrong_answer(tmp_path):
    from unireward_testbed.probes import qa_oracle_pairs

    result = qa_oracle_pairs(C.require("qa_policy"), prompts=3, eval_questions=2, samples=1, out=tmp_path,
                             options={"max_steps": 1, "batch_size": 2})
    assert result["options"]["loss_type"] == ("sigmoid", "sft")  # the demo's QA objective
    assert result["pairs"] == sum(result["pairs_per_task"].values())
    if result["pairs"]:
        for task in ("image_understanding", "video_understanding"):
            figures = result[task]
            assert set(figures) == {"sampled_before", "greedy_before", "sampled_after", "greedy_after"}
            assert all(0.0 <= v <= 100.0 for v in figures.values())
    else:
        assert "note" in result


def test_qa_oracle_pairs_command_passes_lora_and_the_budget(testbed_cli, monkeypatch, capsys):
    import unireward_testbed.probes as probes

    seen = {}

    def fake(policy, **kwargs):
        seen.update(kwargs)
        return {"pairs": 0}

    monkeypatch.setattr(probes, "qa_oracle_pairs", fake)
    argv = ["testbed", "probe", "--threads", "1", "qa-oracle-pairs", "--lora", "--learning-rate", "0.002",
            "--max-steps", "80", "--prompts", "5"]
    assert testbed_cli(argv) == 0
    assert seen["options"] == {"lora": True, "learning_rate": 0.002, "max_steps": 80}
    assert seen["prompts"] == 5
    assert testbed_cli(argv[:5]) == 0  # without flags: the demo's settings
    assert seen["options"] == {}
    assert '"pairs": 0' in capsys.readouterr().out
