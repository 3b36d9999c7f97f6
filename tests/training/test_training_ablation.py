"""The joint-vs-single-task ablation (matched budgets, per-task report, table and plot) and `unireward train-judge`."""

from __future__ import annotations

import json

import pytest

from unireward_sdk.errors import ConfigError
from unireward_sdk.training import JudgeTrainingConfig, load_records, run_ablation

TASKS = ["image_generation", "image_understanding"]


def test_ablation_trains_matched_judges_and_reports_per_task(registry, tiny_base, testbed_data, tmp_path):
    records = load_records(testbed_data / "train.jsonl")
    config = JudgeTrainingConfig(num_train_epochs=1, batch_size=4, eval_limit=1, eval_pointwise=False, bootstrap=50)
    report = run_ablation(records, records, tiny_base, tmp_path / "ablation", config, tasks=TASKS,
                          registry=registry)
    # matched budget: steps computed once from the joint set (8 records / 4 per step), given to every judge
    assert report.budget["steps"] == 2 and report.budget["examples_per_judge"] == 8
    assert set(report.runs) == {"joint", *TASKS}
    assert {run.steps for run in report.runs.values()} == {2}
    assert report.runs["joint"].examples == {"image_generation": 4, "image_understanding": 4}
    assert report.runs["image_generation"].examples == {"image_generation": 4}
    assert [r.task for r in report.rows] == TASKS
    for row in report.rows:
        assert row.single.task == row.joint.task == row.task and row.single.n == row.joint.n == 1
        assert row.single.accuracy in (0.0, 1.0) and row.joint.accuracy in (0.0, 1.0)
    table = report.markdown()
    assert "| image_generation |" in table and "single-task" in table and "2 optimizer steps" in table
    written = json.loads((tmp_path / "ablation" / "ablation.json").read_text())
    assert [r["task"] for r in written["rows"]] == TASKS
    assert (tmp_path / "ablation" / "ablation.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "ablation" / "joint" / "model.safetensors").is_file()
    assert (tmp_path / "ablation" / "single" / "image_understanding" / "training_report.md").is_file()


def test_ablation_refuses_what_it_cannot_compare(registry, tiny_base, testbed_data, tmp_path):
    records = load_records(testbed_data / "train.jsonl")
    with pytest.raises(ConfigError, match="at least two tasks"):
        run_ablation(records, records, tiny_base, tmp_path, tasks=["image_generation"], registry=registry)
    with pytest.raises(ConfigError, match="no pairwise evaluation records"):
        run_ablation(records, [r for r in records if r.task != "video_understanding"], tiny_base, tmp_path,
                     registry=registry)


def test_train_judge_command_trains_from_a_toml_file(tiny_base, toy_data, tmp_path, capsys, monkeypatch, registry):
    import unireward_sdk.registry as registry_module
    from unireward_sdk.cli import main

    monkeypatch.setattr(registry_module, "_default", registry)
    config = tmp_path / "judge.toml"
    config.write_text(
        f'mode = "scalar"\nbase_model = "{tiny_base}"\noutput_dir = "out"\n'
        f'train = ["{toy_data / "train.jsonl"}"]\neval = ["{toy_data / "eval.jsonl"}"]\n'
        '[training]\nmax_steps = 50\nbatch_size = 8\nbootstrap = 0\ndevice = "cpu"\neval_limit = 4\n')
    code = main(["train-judge", "--config", str(config), "--max-steps", "5", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "# scalar judge training" in captured.out and "| image_generation |" in captured.out
    assert "step 5/5" in captured.err and "eval at step 5" in captured.err
    report = json.loads((tmp_path / "out" / "training_report.json").read_text())
    assert report["steps"] == 5 and report["final"]["image_generation"]["n"] == 4
    assert (tmp_path / "out" / "value_head" / "value_head.safetensors").is_file()
    # the trained value head scores items through `unireward score --head scalar --value-head`
    judge = tmp_path / "out" if (tmp_path / "out" / "config.json").is_file() else tiny_base
    images = sorted(str(p) for p in toy_data.rglob("*.png"))[:2]
    code = main(["score", "--model", str(judge), "--task", "image_generation", "--mode", "pairwise",
                 "--head", "scalar", "--value-head", str(tmp_path / "out" / "value_head"), "--device", "cpu",
                 "--prompt", "a red circle", "--media", *images])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    verdict = json.loads(captured.out.strip().splitlines()[-1])
    assert verdict["winner"] in ("A", "B", "tie") and verdict["status"] == "ok", verdict
    assert main(["score", "--model", str(judge), "--task", "image_generation", "--mode", "pairwise",
                 "--value-head", "vh", "--prompt", "x", "--media", *images]) != 0
    assert "--value-head applies to the scalar head only" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('mode = "generative"\nbase_model = "x"\noutput_dir = "o"\ntrain = "t.jsonl"\n[training]\nmax_steps = 0\n')
    assert main(["train-judge", "--config", str(bad)]) == 2  # bad usage
    assert "max_steps must be >= 1" in capsys.readouterr().err


def test_train_judge_command_resumes_a_scalar_run(tiny_base, toy_data, tmp_path, capsys, monkeypatch, registry):
    """`unireward train-judge --resume-from-checkpoint latest` continues the newest checkpoint-<step> that
    [training] save_every wrote; the scalar head's own parameters are what its checkpoint carries."""
    import unireward_sdk.registry as registry_module
    from unireward_sdk.cli import main

    monkeypatch.setattr(registry_module, "_default", registry)
    config = tmp_path / "judge.toml"
    config.write_text(
        f'mode = "scalar"\nbase_model = "{tiny_base}"\noutput_dir = "out"\ntrain = ["{toy_data / "train.jsonl"}"]\n'
        '[training]\nmax_steps = 4\nbatch_size = 4\nbootstrap = 0\ndevice = "cpu"\nsave_every = 2\n')
    assert main(["train-judge", "--config", str(config), "--max-steps", "2", "--no-progress"]) == 0
    assert (tmp_path / "out" / "checkpoint-2" / "trainer_state.json").is_file()
    first = json.loads((tmp_path / "out" / "training_report.json").read_text())["losses"]
    capsys.readouterr()
    assert main(["train-judge", "--config", str(config), "--resume-from-checkpoint", "latest", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"resumed from {tmp_path / 'out' / 'checkpoint-2'} at step 2 of 4" in err
    report = json.loads((tmp_path / "out" / "training_report.json").read_text())
    assert report["steps"] == 4 and report["losses"][:2] == first
    assert main(["train-judge", "--config", str(config), "--resume-from-checkpoint", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_train_judge_report_shows_what_the_judge_answered(tiny_base, toy_data, tmp_path, capsys, monkeypatch,
                                                          registry):
    """The printed report gives each task's answer mix (A / B / tie / failed), so an accuracy is explained
    (a judge that gives every pair one answer scores that answer's share of the truth)."""
    import unireward_sdk.registry as registry_module
    from unireward_sdk.cli import main

    monkeypatch.setattr(registry_module, "_default", registry)
    config = tmp_path / "judge.toml"
    config.write_text(
        f'mode = "scalar"\nbase_model = "{tiny_base}"\noutput_dir = "out"\ntrain = ["{toy_data / "train.jsonl"}"]\n'
        f'eval = ["{toy_data / "eval.jsonl"}"]\n'
        '[training]\nmax_steps = 2\nbatch_size = 4\nbootstrap = 0\ndevice = "cpu"\neval_limit = 6\n')
    assert main(["train-judge", "--config", str(config), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "answered A / B / tie / failed" in out
    row = next(line for line in out.splitlines() if line.startswith("| image_generation |"))
    mix = [int(x) for x in row.split("|")[4].split("/")]
    assert sum(mix) == 6
    report = json.loads((tmp_path / "out" / "training_report.json").read_text())
    assert sum(report["final"]["image_generation"]["answers"].values()) == 6
