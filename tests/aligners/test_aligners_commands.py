"""`unireward sample`, `unireward align --evaluate` and `--resume-from-checkpoint`, run as a user runs them."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("diffusers")

from diffusion_toys import pickapic_rows, write_pickapic_parquet  # noqa: E402

from unireward_sdk.cli import main  # noqa: E402


def _config(path, **values):
    path.write_text("[align]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
    return path


@pytest.fixture(scope="module")
def aligned(tiny_t2i, tmp_path_factory):
    """A policy `unireward align` trained for two steps, and its pairs."""
    folder = tmp_path_factory.mktemp("aligned")
    write_pickapic_parquet(folder / "pairs.parquet", pickapic_rows(decided=4, ties=0))
    config = _config(folder / "align.toml", aligner="diffusion_dpo", data="pairs.parquet", model=str(tiny_t2i),
                     output_dir="policy", max_steps=2, batch_size=2, learning_rate=1e-3, sample_steps=2)
    assert main(["align", "--config", str(config), "--no-progress", "--json"]) == 0
    return folder


def test_sample_writes_a_manifest_the_pair_job_reads(tiny_t2i, tmp_path, capsys):
    from unireward_sdk.pairs.sources import ManifestSource

    (tmp_path / "prompts.txt").write_text("a red square\n\na blue square\n")
    out = tmp_path / "round" / "candidates.jsonl"
    code = main(["sample", "--policy", str(tiny_t2i), "--aligner", "diffusion_dpo", "--prompts",
                 str(tmp_path / "prompts.txt"), "--n", "2", "--seed", "3", "--output", str(out),
                 "--set", "sample_steps=2"])
    assert code == 0
    assert "4 candidates for 2 prompts" in capsys.readouterr().out
    source = ManifestSource.from_jsonl(out, "image_generation")  # the pair job's own reader
    assert [r.prompt for r in source.records] == ["a red square", "a blue square"]
    assert all(len(r.candidates) == 2 and {c.modality for c in r.candidates} == {"image"} for r in source.records)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    first = lines[0]["candidates"][0]
    assert first["path"].startswith("candidates-media/") and first["meta"]["sample_seed"] == 3
    assert (out.parent / first["path"]).is_file()
    # the output is not silently replaced
    assert main(["sample", "--policy", str(tiny_t2i), "--aligner", "diffusion_dpo", "--prompts",
                 str(tmp_path / "prompts.txt"), "--n", "2", "--output", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_sample_reads_the_aligner_from_a_saved_policy_and_jsonl_prompts(aligned, tmp_path, capsys):
    (tmp_path / "prompts.jsonl").write_text(json.dumps({"id": "sq", "prompt": "a square"}) + "\n")
    out = tmp_path / "c.jsonl"
    assert main(["sample", "--policy", str(aligned / "policy"), "--prompts", str(tmp_path / "prompts.jsonl"),
                 "--n", "2", "--output", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["aligner"] == "diffusion_dpo" and summary["candidates"] == 2
    [line] = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["id"] == "sq" and line["candidates"][0]["meta"]["trained_steps"] == 2


def test_sample_refuses_bad_prompts_naming_every_line(tiny_t2i, tmp_path, capsys):
    (tmp_path / "p.jsonl").write_text('{"prompt": "ok"}\n{"id": 3}\n{"question": "what?", "context": "no.png"}\n')
    assert main(["sample", "--policy", str(tiny_t2i), "--aligner", "diffusion_dpo", "--prompts",
                 str(tmp_path / "p.jsonl"), "--output", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "2 bad prompt line(s)" in err and "p.jsonl:2" in err and "p.jsonl:3" in err
    assert not (tmp_path / "o.jsonl").exists()


def test_evaluate_a_saved_policy_without_training(aligned, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["align", "--policy", str(aligned / "policy"), "--evaluate", str(aligned / "pairs.parquet"),
                 "--eval-output", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads(out.read_text())
    assert saved["pairs"] == 4 and saved["aligner"] == "diffusion_dpo"
    assert {"loss", "margin", "accuracy"} <= set(saved) and 0.0 <= saved["accuracy"] <= 1.0
    assert printed["loss"] == saved["loss"] and printed["written_to"] == str(out)
    # the policy did not change: train_summary.json still says two steps
    assert json.loads((aligned / "policy" / "train_summary.json").read_text())["steps"] == 2
    assert main(["align", "--policy", str(aligned / "policy")]) == 2
    assert "--evaluate" in capsys.readouterr().err


def test_align_evaluates_held_out_pairs_after_training(tiny_t2i, tmp_path, capsys):
    write_pickapic_parquet(tmp_path / "train.parquet", pickapic_rows(decided=2, ties=0))
    write_pickapic_parquet(tmp_path / "heldout.parquet", pickapic_rows(decided=2, ties=1))
    config = _config(tmp_path / "align.toml", aligner="diffusion_dpo", data="train.parquet", model=str(tiny_t2i),
                     output_dir="policy", max_steps=1, batch_size=2, eval_data="heldout.parquet")
    assert main(["align", "--config", str(config), "--evaluate", "--json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 1 and summary["evaluation"]["pairs"] == 2  # the tie is not a preference
    assert json.loads((tmp_path / "policy" / "eval_results.json").read_text())["loss"] == summary["evaluation"]["loss"]


@pytest.mark.parametrize("lora", [True, False])
def test_an_interrupted_run_resumes_where_it_stopped(tiny_t2i, tmp_path, capsys, lora):
    write_pickapic_parquet(tmp_path / "pairs.parquet", pickapic_rows(decided=6, ties=0))
    config = _config(tmp_path / "align.toml", aligner="diffusion_dpo", data="pairs.parquet", model=str(tiny_t2i),
                     output_dir="whole", max_steps=4, batch_size=2, learning_rate=1e-3 if lora else 1e-5,
                     save_every=2, lora=lora)
    assert main(["align", "--config", str(config), "--json", "--no-progress"]) == 0
    whole = json.loads((tmp_path / "whole" / "train_summary.json").read_text())["history"]
    held = {p.name for p in (tmp_path / "whole" / "checkpoint-2").iterdir()}
    assert {"trainer_state.json", "training_state.pt", "unireward_policy.json"} <= held
    # a run stopped after step 2: only its checkpoint exists
    shutil.copytree(tmp_path / "whole" / "checkpoint-2", tmp_path / "stopped" / "checkpoint-2")
    capsys.readouterr()
    assert main(["align", "--config", str(config), "--json", "--no-progress", "--output-dir",
                 str(tmp_path / "stopped"), "--resume-from-checkpoint", "latest"]) == 0
    summary = json.loads(capsys.readouterr().out)
    resumed = json.loads((tmp_path / "stopped" / "train_summary.json").read_text())["history"]
    assert summary["steps"] == 4 and [h["step"] for h in resumed] == [1, 2, 3, 4]
    # steps 3 and 4 continue the interrupted run: the same batches, noise and weights as the whole run
    assert [h["loss"] for h in resumed] == pytest.approx([h["loss"] for h in whole], rel=1e-4, abs=1e-6)
    info = json.loads((tmp_path / "stopped" / "unireward_policy.json").read_text())
    assert info["trained_steps"] == 4 and info["config"]["resume_from_checkpoint"] is None


def test_resuming_without_a_checkpoint_says_why(tiny_t2i, tmp_path, capsys):
    write_pickapic_parquet(tmp_path / "pairs.parquet", pickapic_rows(decided=2, ties=0))
    config = _config(tmp_path / "align.toml", aligner="diffusion_dpo", data="pairs.parquet", model=str(tiny_t2i),
                     output_dir="out", max_steps=1, resume_from_checkpoint="latest")
    assert main(["align", "--config", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "no resumable checkpoint" in err and "save_every" in err
    (tmp_path / "out" / "final").mkdir(parents=True)
    assert main(["align", "--config", str(config), "--no-progress", "--resume-from-checkpoint",
                 str(tmp_path / "out" / "final")]) == 2
    assert "cannot be resumed from" in capsys.readouterr().err
