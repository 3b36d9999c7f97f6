"""`unireward align --config FILE.toml` on Pick-a-Pic and VideoDPO exports written by the test."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("diffusers")

from diffusion_toys import pickapic_rows, write_pickapic_parquet, write_videodpo_jsonl  # noqa: E402

from unireward_sdk.cli import main  # noqa: E402


def _write_config(path, **values):
    lines = ["[align]"]
    for key, value in values.items():
        lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_align_trains_diffusion_dpo_from_a_pickapic_export(tiny_t2i, tmp_path, capsys):
    write_pickapic_parquet(tmp_path / "pairs.parquet", pickapic_rows(decided=4, ties=1))
    config = _write_config(tmp_path / "align.toml", aligner="diffusion_dpo", data="pairs.parquet",
                           format="pickapic", model=str(tiny_t2i), output_dir="policy", max_steps=3,
                           batch_size=2, learning_rate=1e-3, beta=5000, lora=True, seed=1, mixed_precision="no",
                           sample_steps=2)
    assert main(["align", "--config", str(config), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 3 and summary["pairs"] == 4 and summary["dropped"] == {"tie": 1}
    assert summary["final_margin"] is not None and summary["final_loss"] is not None
    assert summary["output_dir"] == str(tmp_path / "policy")  # relative to the config file
    saved = json.loads((tmp_path / "policy" / "train_summary.json").read_text())
    assert [h["step"] for h in saved["history"]] == [1, 2, 3]

    from unireward_builtins.aligners.diffusion_dpo import DiffusionDPOAligner

    policy = DiffusionDPOAligner.from_pretrained(tmp_path / "policy")
    assert policy.trained_steps == 3 and policy.config.seed == 1
    [[candidate]] = policy.sample(["a square"], 1, out_dir=tmp_path / "samples")
    assert candidate.modality == "image"


def test_align_trains_video_diffusion_dpo_from_a_videodpo_export(tiny_t2v, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps long paths in narrow terminals
    data = write_videodpo_jsonl(tmp_path / "export", pairs=2, frames=4)
    config = _write_config(tmp_path / "align.toml", aligner="video_diffusion_dpo", data=str(data),
                           model=str(tiny_t2v), output_dir=str(tmp_path / "policy"), max_steps=2, batch_size=1,
                           num_frames=4)
    assert main(["align", "--config", str(config), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "video_diffusion_dpo" in out and "policy saved to" in out and str(tmp_path / "policy") in out
    assert (tmp_path / "policy" / "unireward_policy.json").is_file()


def test_command_line_overrides(tiny_t2i, tmp_path, capsys):
    write_pickapic_parquet(tmp_path / "pairs.parquet", pickapic_rows(decided=2, ties=0))
    config = _write_config(tmp_path / "align.toml", aligner="diffusion_dpo", data="missing.parquet",
                           model=str(tiny_t2i), max_steps=5)
    assert main(["align", "--config", str(config), "--json", "--data", str(tmp_path / "pairs.parquet"),
                 "--max-steps", "1", "--output-dir", str(tmp_path / "elsewhere")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 1 and summary["output_dir"] == str(tmp_path / "elsewhere")


@pytest.mark.parametrize(("values", "message"), [
    ({"aligner": "diffusion_dop", "data": "x.parquet"}, "did you mean 'diffusion_dpo'"),
    ({"aligner": "diffusion_dpo", "data": "pairs.parquet", "model": "m", "bta": 1}, "did you mean 'beta'"),
    ({"aligner": "diffusion_dpo"}, "missing required key(s) 'data'"),
    ({"aligner": "diffusion_dpo", "data": "nothing-here.parquet"}, "not found"),
])
def test_configuration_errors_are_reported(tmp_path, capsys, values, message):
    write_pickapic_parquet(tmp_path / "pairs.parquet", pickapic_rows(decided=1, ties=0))
    config = _write_config(tmp_path / "align.toml", **values)
    assert main(["align", "--config", str(config)]) == 2  # bad usage
    assert message.lower() in capsys.readouterr().err.lower()
