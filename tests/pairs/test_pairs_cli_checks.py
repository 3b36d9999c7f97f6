"""`unireward pairs` from the user's side: the whole input checked before anything loads or is written (every
problem at once, file:line), --overwrite, exports of datasets with no kept pairs, absolute paths, links out of
the manifest's folder explained, export suffixes that name no export format refused."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from pairs_helpers import (PYTHON, REPO, cli, fake_job_keys, generation_manifest, ranking, understanding_manifest,
                           video_manifest, write_config, write_png)

from unireward_sdk.pairs import PairDataset, PairJob, PairJobConfig


def _lines(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _run(args, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI run from ``cwd`` (relative paths on the command line start there), this checkout's code."""
    path = os.pathsep.join([str(REPO), str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")])
    return subprocess.run([PYTHON, "-m", "unireward_sdk", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": path})


# --- 1. the whole input is checked before a model loads or a byte is written -----------------------------


def test_every_problem_of_the_input_is_named_at_once_and_nothing_is_written(tmp_path):
    data = tmp_path / "data"
    write_png(data / "imgs" / "a.png", (10, 20, 30))
    write_png(data / "imgs" / "b.png", (40, 50, 60))
    (data / "clip.mp4").write_bytes(b"")  # refused by its type before anything opens it
    manifest = _lines(data / "prompts.jsonl", [
        {"id": "ok", "prompt": "a cat", "candidates": ["imgs/a.png", "imgs/b.png"]},
        {"id": "gone", "prompt": "a dog", "candidates": ["imgs/missing.png", "imgs/also_missing.png"]},
        {"id": "clip", "prompt": "a bird", "candidates": ["clip.mp4", "imgs/a.png"]},
        '{"id": "broken", "prompt": ',
    ])
    config = write_config(tmp_path / "job.toml", manifest="data/prompts.jsonl", output="out", task="image_generation",
                          model="./nomodel", progress=False)
    done = cli(["pairs", "--config", str(config), "--no-progress"])
    assert done.returncode == 2, done.stderr
    err = done.stderr
    assert "model './nomodel' is a local path, and no folder exists there" in err
    assert f"{manifest}:2" in err and "missing.png" in err and "also_missing.png" in err
    assert f"{manifest}:3" in err and "'clip.mp4' is a video file and task 'image_generation' takes image" in err
    assert f"{manifest}:4" in err and "not a JSON object" in err
    assert "5 problems in the input" in err and "nothing was loaded or written" in err
    assert not (tmp_path / "out").exists()


def test_a_template_the_head_cannot_use_is_refused_before_the_model_loads(tmp_path):
    generation_manifest(tmp_path / "data", prompts=2, n=2)
    (tmp_path / "judge").mkdir()  # never opened: the config is refused first
    config = write_config(tmp_path / "job.toml", manifest="data/prompts.jsonl", output="out", task="image_generation",
                          model="judge", head="fast", template="image_generation.pairwise_cot.think", progress=False)
    done = cli(["pairs", "--config", str(config), "--no-progress"])
    assert done.returncode == 2
    assert "template 'image_generation.pairwise_cot.think' has no readout" in done.stderr
    assert "Use the 'generative' head" in done.stderr
    assert not (tmp_path / "out").exists()


def test_overwrite_replaces_a_dataset_and_each_refusal_names_resume_and_overwrite(tmp_path):
    manifest = understanding_manifest(tmp_path / "data", prompts=4)
    keys = fake_job_keys(manifest, tmp_path / "out")
    config = write_config(tmp_path / "job.toml", **keys)
    assert cli(["pairs", "--config", str(config)]).returncode == 0

    again = cli(["pairs", "--config", str(config)])
    assert again.returncode == 2
    assert "already holds a pair dataset" in again.stderr
    assert "--resume" in again.stderr and "--overwrite" in again.stderr

    write_config(tmp_path / "job.toml", **{**keys, "seed": 8})
    changed = cli(["pairs", "--config", str(config), "--resume"])
    assert changed.returncode == 2
    assert "changed: seed" in changed.stderr and "--overwrite" in changed.stderr

    replaced = cli(["pairs", "--config", str(config), "--overwrite"])
    assert replaced.returncode == 0, replaced.stderr
    assert "prompts seen     4 / 4" in replaced.stdout
    assert json.loads((tmp_path / "out" / "dataset.json").read_text())["config"]["seed"] == 8

    both = cli(["pairs", "--config", str(config), "--resume", "--overwrite"])
    assert both.returncode == 2 and "not allowed with argument" in both.stderr

    # --overwrite replaces a pair dataset only, never a folder of something else
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    write_config(tmp_path / "job.toml", **{**keys, "output": str(tmp_path / "mine")})
    refused = cli(["pairs", "--config", str(config), "--overwrite"])
    assert refused.returncode == 2 and "holds no pair dataset" in refused.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]


class _BrokenJudge:
    """A judge whose first call fails (a model that dies on its first batch)."""

    name = "broken"

    def judge_pairwise(self, items):
        raise RuntimeError("the judge died")

    score_pointwise = judge_pairwise


def test_a_job_that_fails_before_its_first_commit_leaves_nothing_behind(tmp_path):
    cfg = PairJobConfig(**fake_job_keys(understanding_manifest(tmp_path / "data", prompts=3), tmp_path / "out"))
    with pytest.raises(RuntimeError, match="the judge died"):
        PairJob(cfg, judge=_BrokenJudge()).run()
    assert not (tmp_path / "out").exists()
    # so the fixed job starts without --resume or --overwrite
    assert PairJob(cfg).run()["prompts_seen"] == 3


# --- 2. exports of a dataset with no kept pairs ------------------------------------------------------------


def _all_dropped(root: Path, manifest: Path, task: str) -> Path:
    """A pair dataset whose prompts were all dropped (every verdict fails, failures dropped)."""
    keys = fake_job_keys(manifest, root / "out", task=task, head_options={"failure_rate": 1.0},
                         filters=ranking(on_failure="drop"))
    summary = PairJob(PairJobConfig(**keys)).run()
    assert summary["pairs_kept"] == 0 and summary["prompts_seen"] > 0
    return root / "out"


def test_exports_with_no_kept_pairs_are_empty_in_the_formats_columns(tmp_path):
    from unireward_sdk.pairs.export import load

    understanding = _all_dropped(tmp_path / "u", understanding_manifest(tmp_path / "u" / "data", prompts=3),
                                 "image_understanding")
    done = cli(["pairs", "export", "--format", "trl", "--input", str(understanding),
                "--output", str(tmp_path / "trl.parquet")])
    assert done.returncode == 0, done.stderr
    assert "warning:" in done.stderr and "no kept pairs" in done.stderr and "dropped: no_decided_pairs 3" in done.stderr
    assert "Traceback" not in done.stderr and "(0 pairs)" in done.stdout
    trl = load(tmp_path / "trl.parquet")
    assert trl.num_rows == 0 and set(trl.column_names) >= {"prompt", "chosen", "rejected", "images"}

    records = cli(["pairs", "export", "--format", "records", "--input", str(understanding),
                   "--output", str(tmp_path / "records.jsonl")])
    assert records.returncode == 0, records.stderr
    assert (tmp_path / "records.jsonl").read_text() == ""

    # understanding data has response texts: pickapic says so, by the task, before reading any pair
    wrong = cli(["pairs", "export", "--format", "pickapic", "--input", str(understanding),
                 "--output", str(tmp_path / "pick.parquet")])
    assert wrong.returncode == 2
    assert "task 'image_understanding' gives text candidates; the pickapic format needs image candidates" in wrong.stderr
    assert not (tmp_path / "pick.parquet").exists()

    generation = _all_dropped(tmp_path / "g", generation_manifest(tmp_path / "g" / "data", prompts=2, n=2),
                              "image_generation")
    pick = cli(["pairs", "export", "--format", "pickapic", "--input", str(generation),
                "--output", str(tmp_path / "pick")])
    assert pick.returncode == 0, pick.stderr
    assert set(load(tmp_path / "pick").column_names) >= {"caption", "jpg_0", "jpg_1", "label_0"}

    videos = _all_dropped(tmp_path / "v", video_manifest(tmp_path / "v" / "data", prompts=1, n=2), "video_generation")
    video = cli(["pairs", "export", "--format", "videodpo", "--input", str(videos),
                 "--output", str(tmp_path / "videodpo.parquet")])
    assert video.returncode == 0, video.stderr
    exported = load(tmp_path / "videodpo.parquet")
    assert exported.num_rows == 0 and set(exported.column_names) >= {"caption", "chosen", "rejected"}


# --- 9. paths ----------------------------------------------------------------------------------------------


def test_records_export_and_pairs_give_absolute_paths_from_a_relative_input(tmp_path, monkeypatch):
    manifest = understanding_manifest(tmp_path / "data", prompts=4)
    PairJob(PairJobConfig(**fake_job_keys(manifest, tmp_path / "out", head_options={}))).run()
    done = _run(["pairs", "export", "--format", "records", "--input", "out", "--output", "records.jsonl"],
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "records.jsonl").read_text().splitlines()]
    assert rows
    for row in rows:
        for path in row["context"]:
            assert Path(path).is_absolute() and Path(path).is_file()

    monkeypatch.chdir(tmp_path)
    pairs = PairDataset("out").pairs()
    monkeypatch.chdir(REPO)  # the paths stay valid from anywhere
    assert all(Path(p).is_absolute() and Path(p).is_file() for pair in pairs for p in pair.context)


def test_a_symlinked_media_folder_is_named_with_where_it_points(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    write_png(elsewhere / "a.png", (1, 2, 3))
    write_png(elsewhere / "b.png", (4, 5, 6))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "imgs").symlink_to(elsewhere, target_is_directory=True)
    _lines(tmp_path / "data" / "prompts.jsonl", [{"prompt": "a cat", "candidates": ["imgs/a.png", "imgs/b.png"]}])
    keys = dict(manifest="data/prompts.jsonl", output="out", task="image_generation",
                judge_factory="unireward_sdk.testing.filter:HashJudge", progress=False)
    config = write_config(tmp_path / "job.toml", **keys)
    done = cli(["pairs", "--config", str(config)])
    assert done.returncode == 2
    assert "through a symbolic link" in done.stderr
    assert f"'{tmp_path / 'data' / 'imgs'}' points to {elsewhere}" in done.stderr
    assert "allow_outside = true" in done.stderr
    assert not (tmp_path / "out").exists()

    write_config(tmp_path / "job.toml", **keys, allow_outside=True)
    assert cli(["pairs", "--config", str(config)]).returncode == 0


def test_an_export_suffix_that_names_no_export_format_is_refused(tmp_path):
    manifest = understanding_manifest(tmp_path / "data", prompts=2)
    PairJob(PairJobConfig(**fake_job_keys(manifest, tmp_path / "out", head_options={}))).run()
    done = cli(["pairs", "export", "--format", "records", "--input", str(tmp_path / "out"),
                "--output", str(tmp_path / "out.csv")])
    assert done.returncode == 2
    assert "cannot write a pair export as '.csv'" in done.stderr and ".parquet" in done.stderr
    assert not (tmp_path / "out.csv").exists()
