"""vlm_dpo from the command line: trl training arguments passed through, transformers' resume."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")

from vlm_toys import write_align_config, write_pair_dataset  # noqa: E402

from unireward_sdk.cli import main  # noqa: E402


@pytest.fixture
def trl_export(media, tmp_path):
    from unireward_sdk.pairs.export import export

    dataset = write_pair_dataset(tmp_path / "pairs", [(str(media["red_png"]), "red", "blue"),
                                                      (str(media["blue_png"]), "red", "blue")])
    return export(dataset, "trl", tmp_path / "export" / "trl.parquet") and tmp_path / "export" / "trl.parquet"


def _align(tmp_path, tiny_policy, data, *extra, **table):
    settings = dict(aligner="vlm_dpo", data=str(data), model=str(tiny_policy), output_dir="policy", lora=True,
                    learning_rate=5e-3, batch_size=2, gradient_accumulation_steps=1)
    trainer_args = table.pop("trainer_args", {})
    config = write_align_config(tmp_path / "align.toml", **{**settings, **table})
    if trainer_args:  # the [align.trainer_args] table
        with config.open("a") as fh:
            fh.write("[align.trainer_args]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in trainer_args.items()))
    return main(["align", "--config", str(config), "--json", "--no-progress", *extra])


def test_trainer_args_reach_trl_and_typos_are_named(tiny_policy, trl_export, tmp_path, capsys):
    code = _align(tmp_path, tiny_policy, trl_export, max_steps=2,
                  trainer_args={"logging_steps": 2, "optim": "sgd", "report_to": "none"})
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 2  # optimizer steps, though logging_steps = 2 logged one of them
    history = json.loads((tmp_path / "policy" / "train_summary.json").read_text())["history"]
    assert [h["step"] for h in history] == [2]
    assert _align(tmp_path, tiny_policy, trl_export, max_steps=1, trainer_args={"loging_steps": 2}) == 2
    err = capsys.readouterr().err
    assert "loging_steps" in err and "did you mean 'logging_steps'" in err.lower()
    assert _align(tmp_path, tiny_policy, trl_export, max_steps=1, trainer_args={"learning_rate": 1.0}) == 2
    assert "Write learning_rate instead" in capsys.readouterr().err


def test_vlm_run_resumes_from_transformers_checkpoint(tiny_policy, trl_export, tmp_path, capsys):
    assert _align(tmp_path, tiny_policy, trl_export, max_steps=3, save_every=1) == 0
    whole = json.loads((tmp_path / "policy" / "train_summary.json").read_text())["history"]
    checkpoint = tmp_path / "policy" / "checkpoint-2"
    assert {"optimizer.pt", "scheduler.pt", "trainer_state.json", "unireward_policy.json"} <= \
        {p.name for p in checkpoint.iterdir()}
    shutil.copytree(checkpoint, tmp_path / "stopped" / "checkpoint-2")
    capsys.readouterr()
    assert _align(tmp_path, tiny_policy, trl_export, "--resume-from-checkpoint", "latest", max_steps=3,
                  save_every=1, output_dir="stopped") == 0
    summary = json.loads(capsys.readouterr().out)
    resumed = json.loads((tmp_path / "stopped" / "train_summary.json").read_text())["history"]
    assert summary["steps"] == 3 and [h["step"] for h in resumed] == [1, 2, 3]
    assert [h["loss"] for h in resumed] == pytest.approx([h["loss"] for h in whole], rel=1e-3, abs=1e-5)
