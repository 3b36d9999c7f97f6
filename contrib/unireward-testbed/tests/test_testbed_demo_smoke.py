"""A smoke run of ``unireward demo`` on a tiny budget completes and writes its report (the shipped checkpoints)."""

from __future__ import annotations

import json

import pytest

from unireward_testbed import checkpoints as C
from unireward_testbed.pairs import PAIR_KINDS


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, testbed_cli):
    """``unireward demo --profile smoke`` through the command line, as a user runs it."""
    try:
        for name in C.NAMES:
            C.require(name)
    except C.CheckpointError as exc:
        pytest.fail(f"the shipped testbed checkpoints are missing: {exc}")
    out = tmp_path_factory.mktemp("demo")
    status = testbed_cli(["demo", "--profile", "smoke", "--out", str(out), "--seed", "0", "--threads", "1", "--quiet"])
    return out, json.loads((out / "results.json").read_text()), status


def test_smoke_run_completes_every_stage(smoke):
    _, results, exit_status = smoke
    status = {s["name"]: s["status"] for s in results["stages"]}
    failed = {s["name"]: s.get("error") for s in results["stages"] if s["status"] == "failed"}
    assert not failed, failed
    assert exit_status == 0
    assert status == {"world": "ok", "judges": "ok", "image_generation": "ok", "understanding": "ok",
                      "video_generation": "ok", "report": "ok"}


def test_smoke_run_writes_the_report(smoke):
    out, _, _ = smoke
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["profile"]["name"] == "smoke"
    assert set(on_disk["judges"]["tasks"]) == {"image_generation", "video_generation", "image_understanding",
                                              "video_understanding"}
    for task in on_disk["judges"]["tasks"].values():
        assert 0.0 <= task["joint"]["mean"] <= 1.0 and task["joint"]["n_units"] > 0
        # every held-out pair got exactly one answer, counted in the verdict mix of each judge
        for judge in ("joint", "single"):
            mix = task["verdicts"][judge]
            assert set(mix) == {"A", "B", "tie", "failed"} and sum(mix.values()) == task[judge]["n_units"]
    # evaluation on the held-out third of the captions, which no pair was built from
    assert on_disk["image_generation"]["before"]["n_units"] == 16
    assert on_disk["video_generation"]["before"]["n_units"] == 16
    assert set(on_disk["image_generation"]["before"]["attributes"]) == {"colour", "shape", "position", "count"}
    assert set(on_disk["video_generation"]["before"]["attributes"]) == {"colour", "shape", "direction"}
    # per value a caption names: what the policy drew before and after, and what the method's pairs teach
    # (smoke keeps too few pairs to train: "after" is None, the pairs are still counted)
    colours = on_disk["video_generation"]["by_caption_value"]["colour"]
    assert set(colours) == {"red", "green", "blue", "yellow"}
    assert all(len(v["after"]) == 1 and set(v["pairs"]) == set(PAIR_KINDS) for v in colours.values())
    assert sum(sum(v["pairs"].values()) for v in colours.values()) == sum(
        on_disk["video_generation"]["strategies"]["two_stage"]["pairs"])
    assert "Per value a caption names (text-to-video)" in (out / "results.md").read_text()
    # random video pairs are built and scored, not trained on (the profile's t2v_trained_strategies)
    random_video = on_disk["video_generation"]["strategies"]["random"]
    assert random_video["status"].startswith("not trained (pairs built to measure their precision only")
    assert "random" in on_disk["video_generation"]["pair_precision"]
    assert on_disk["understanding"]["objective"] == "sigmoid + sft"
    assert on_disk["understanding"]["readout"] == "verdict"  # which readout built the QA pairs is recorded
    # which objective each generation run minimised and how its length was decided are recorded and shown
    assert on_disk["image_generation"]["objective"] == "dpo + sft (weight 125)"
    assert on_disk["image_generation"]["stop_on"] == "budget"
    assert on_disk["video_generation"]["objective"] == "dpo" and on_disk["video_generation"]["stop_on"] == "loss"
    assert on_disk["image_generation"]["runs"]["sft_on_chosen/0"]["objective"] == "sft"
    assert on_disk["image_generation"]["runs"]["two_stage/0"]["objective"] == "dpo + sft (weight 125)"
    markdown = (out / "results.md").read_text()
    # which weights each run trained: text-to-image LoRA on the cross-attention, video every weight
    assert on_disk["image_generation"]["update"] == "LoRA r8 on attn2.to_k, attn2.to_v"
    assert on_disk["video_generation"]["update"] == "full fine-tuning"
    assert ("objective dpo + sft (weight 125), LoRA r8 on attn2.to_k, attn2.to_v, β 500.0, 1 step on every pair"
            in markdown)
    assert "Judge accuracy per task" in markdown and "trained live" in markdown
    assert "joint answered A / B / tie / failed" in markdown
    for name in ("judge_accuracy.png", "results.md"):
        assert (out / name).stat().st_size > 0
    assert all(c["status"] in ("reproduced", "not reproduced", "inconclusive") for c in on_disk["claims"])


def test_rerun_into_the_same_folder_starts_clean(smoke):
    out, _, _ = smoke
    from unireward_testbed.demo import run_demo

    again = run_demo("smoke", out, seed=0, threads=1, quiet=True)
    assert not [s for s in again["stages"] if s["status"] == "failed"]


def test_the_shipped_judges_answer_in_the_answer_format(tmp_path):
    """The quick profile measures the shipped joint and single-task judges: each of them answers held-out
    pairs of its tasks in a parseable form (the quick demo once reported every answer unparsed)."""
    from unireward_testbed.judges import measure_shipped_judges, write_preferences

    _, evals = write_preferences(tmp_path / "data", seed=5, noise=0.1, n_train=1, n_eval=6)
    measured = measure_shipped_judges(None, evals, seed=5)
    assert set(measured["judged"]) == {"joint", *measured["tasks"]} and len(measured["tasks"]) == 4
    for judge, per_task in measured["judged"].items():
        for task, judged in per_task.items():
            mix = judged["verdicts"]
            assert sum(mix.values()) == 6
            assert mix["failed"] <= 1, (judge, task, mix)
            assert len(judged["constant_correct"]) == 6
