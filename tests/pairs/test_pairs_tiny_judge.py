"""Pair jobs with a real tiny judge (Qwen2-VL architecture, full processor) on image, video and text candidates
written by the tests: the CLI end to end, media decoded once per job, exports, a contact sheet, and the
exports training the diffusion aligners through `unireward align`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pairs_helpers import cli, generation_manifest, ranking, understanding_manifest, video_manifest, write_config

from unireward_sdk.pairs import PairDataset, PairJob, PairJobConfig
from unireward_sdk.pairs.export import load, to_videodpo


@pytest.fixture(scope="module")
def judge_path(tmp_path_factory):
    from unireward_sdk.testing.tiny import build_tiny_judge

    return build_tiny_judge(tmp_path_factory.mktemp("tiny") / "judge")


def test_cli_end_to_end_on_image_files(judge_path, tmp_path, capsys):
    manifest = generation_manifest(tmp_path / "data", prompts=2, n=4)
    config = write_config(tmp_path / "job.toml", manifest="data/prompts.jsonl", output="out",
                          task="image_generation", model=str(judge_path), head="fast", filters=ranking(on_tie="tie"),
                          batch_size=2, backend_options={"device": "cpu"})
    done = cli(["pairs", "--config", str(config), "--no-progress", "--sheet", str(tmp_path / "sheet.png")],
               timeout=300)
    assert done.returncode == 0, done.stderr
    assert "prompts seen     2 / 2" in done.stdout and "pairs kept" in done.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    rows = list(PairDataset(tmp_path / "out").rows())
    scored = sum(len(r.get("scores") or r["record"]["scores"]) for r in rows)
    # every image decoded once for the whole job, re-used by point sifting
    assert summary["media_cache"] == {"misses": 8, "hits": scored}
    assert summary["pairs_kept"] >= 1
    pair = PairDataset(tmp_path / "out").pairs()[0]
    assert pair.provenance.checkpoint == str(judge_path)
    assert pair.provenance.template_id.startswith("image_generation.pointwise")
    assert pair.verdicts[0].probabilities and pair.verdicts[0].provenance.template_id.startswith("image_generation.pairwise")
    assert pair.chosen_score.value > pair.rejected_score.value

    from PIL import Image

    with Image.open(tmp_path / "sheet.png") as sheet:
        assert sheet.width > 300

    from unireward_sdk.cli import main

    assert main(["pairs", "export", "--format", "pickapic", "--input", str(tmp_path / "out"),
                 "--output", str(tmp_path / "pickapic.parquet")]) == 0
    exported = load(tmp_path / "pickapic.parquet")
    assert exported.num_rows == summary["pairs_kept"]
    row = exported[0]
    assert row["jpg_0"] == Path(pair.chosen.path).read_bytes() and row["label_0"] == 1.0
    assert row["caption"] == pair.prompt

    # the export trains the Diffusion-DPO aligner as it stands: unireward pairs -> pairs export -> align
    t2i = pytest.importorskip("unireward_sdk.testing.tiny_diffusion").build_tiny_t2i(tmp_path / "t2i", sample_size=16)
    config = _align_config(tmp_path / "align.toml", aligner="diffusion_dpo", data=str(tmp_path / "pickapic.parquet"),
                           format="pickapic", model=str(t2i), output_dir=str(tmp_path / "policy"), max_steps=2,
                           batch_size=1, lora=True, mixed_precision="no", sample_steps=2)
    capsys.readouterr()
    assert main(["align", "--config", str(config), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["pairs"] == summary["pairs_kept"] and trained["steps"] == 2
    assert (tmp_path / "policy" / "unireward_policy.json").is_file()


def _align_config(path: Path, **values) -> Path:
    path.write_text("[align]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
    return path


def test_video_candidates_with_tiny_judge(judge_path, tmp_path, capsys):
    manifest = video_manifest(tmp_path / "data", prompts=1, n=2)
    cfg = PairJobConfig(manifest=str(manifest), output=str(tmp_path / "out"), task="video_generation",
                        model=str(judge_path), head="fast", filters=ranking(on_tie="tie"),
                        backend_options={"device": "cpu"},
                        progress=False)
    job = PairJob(cfg)
    summary = job.run()
    assert summary["prompts_seen"] == 1 and summary["pairs_kept"] == 1
    assert job.media_cache.stats.misses == 2  # two clips, each decoded once
    videos = to_videodpo(tmp_path / "out")
    assert videos[0]["chosen"].endswith(".mp4") and Path(videos[0]["chosen"]).is_file()
    assert videos[0]["chosen"] != videos[0]["rejected"]

    # the export trains the video Diffusion-DPO aligner: pairs -> pairs export --format videodpo -> align
    from unireward_sdk.cli import main

    assert main(["pairs", "export", "--format", "videodpo", "--input", str(tmp_path / "out"),
                 "--output", str(tmp_path / "videodpo.jsonl")]) == 0
    t2v = pytest.importorskip("unireward_sdk.testing.tiny_diffusion").build_tiny_t2v(tmp_path / "t2v", sample_size=16)
    config = _align_config(tmp_path / "align.toml", aligner="video_diffusion_dpo", data=str(tmp_path / "videodpo.jsonl"),
                           model=str(t2v), output_dir=str(tmp_path / "policy"), max_steps=1, batch_size=1,
                           num_frames=4)
    capsys.readouterr()
    assert main(["align", "--config", str(config), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["pairs"] == 1 and trained["steps"] == 1
    assert (tmp_path / "policy" / "unireward_policy.json").is_file()


def test_generative_head_failures_are_recorded_not_guessed(judge_path, tmp_path):
    # a random tiny judge writes no verdict phrase: every pair fails, is re-judged swapped, then dropped
    manifest = understanding_manifest(tmp_path / "data", prompts=1, n=2)
    cfg = PairJobConfig(manifest=str(manifest), output=str(tmp_path / "out"), task="image_understanding",
                        model=str(judge_path), head="generative", filters=ranking(on_failure="swap"),
                        backend_options={"device": "cpu", "max_new_tokens": 16}, progress=False)
    summary = PairJob(cfg).run()
    assert summary["pairs_kept"] == 0 and summary["dropped"] == {"no_decided_pairs": 1}
    assert summary["parse_failures"]["pairwise"] == {"unparsed": 2}
    [dropped] = PairDataset(tmp_path / "out").dropped()
    assert [v.item_id for v in dropped.verdicts] == ["q0#rank:0-1", "q0#rank:1-0"]
    assert all(v.status == "unparsed" and v.provenance.checkpoint == str(judge_path) for v in dropped.verdicts)
    assert "after_swap" in dropped.detail


def test_sigkill_mid_write_then_resume_with_the_tiny_judge(judge_path, tmp_path):
    """The crash tests in test_pairs_job.py use a hash judge; this one kills a job judged by a real model."""
    import signal

    from pairs_helpers import dataset_bytes

    from unireward_sdk.pairs.store import CRASH_VAR

    generation_manifest(tmp_path / "data", prompts=4, n=4)
    keys = dict(manifest="data/prompts.jsonl", task="image_generation", model=str(judge_path), head="fast",
                filters=ranking(on_tie="tie"), batch_size=1, backend_options={"device": "cpu"})
    reference = write_config(tmp_path / "reference.toml", output="reference", **keys)
    assert cli(["pairs", "--config", str(reference), "--no-progress"], timeout=300).returncode == 0
    assert PairDataset(tmp_path / "reference").pairs()  # something to lose
    job = write_config(tmp_path / "job.toml", output="out", **keys)
    killed = cli(["pairs", "--config", str(job), "--no-progress"], env_extra={CRASH_VAR: "mid_write:2"}, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert PairDataset(tmp_path / "out").committed_batches() == {0, 1}
    resumed = cli(["pairs", "--config", str(job), "--resume", "--no-progress"], timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert dataset_bytes(tmp_path / "out") == dataset_bytes(tmp_path / "reference")


def test_a_default_template_the_head_cannot_use_is_refused_before_the_folder_is_made(judge_path, tmp_path):
    # the fast head reads a readout; the think family's pairwise template (the default for that family) has none
    generation_manifest(tmp_path / "data", prompts=2, n=2)
    config = write_config(tmp_path / "job.toml", manifest="data/prompts.jsonl", output="out", task="image_generation",
                          model=str(judge_path), head="fast", backend_options={"device": "cpu", "family": "think"},
                          progress=False)
    done = cli(["pairs", "--config", str(config), "--no-progress"], timeout=300)
    assert done.returncode == 2
    assert "has no readout" in done.stderr and "pairwise_cot.think" in done.stderr
    assert not (tmp_path / "out").exists()
