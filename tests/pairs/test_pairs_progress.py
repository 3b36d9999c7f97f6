"""`unireward pairs` output from the user's side: progress on stderr as plain lines when stderr is not a
terminal (from the first batch, not only at the end), counted over the whole job after --resume, the summary
alone on stdout; exports without the datasets library's bars unless --verbose."""

from __future__ import annotations

import signal

import pytest
from pairs_helpers import cli, fake_job_keys, understanding_manifest, write_config

from unireward_sdk.pairs.store import CRASH_VAR


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    root = tmp_path_factory.mktemp("progress")
    manifest = understanding_manifest(root / "data", prompts=12)
    config = write_config(root / "job.toml", **fake_job_keys(manifest, root / "out", progress=True))
    return root, config


def _progress_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("unireward pairs:")]


def test_progress_goes_to_stderr_as_lines_and_stdout_holds_the_summary(job, tmp_path):
    root, _ = job
    manifest = root / "data" / "prompts.jsonl"
    config = write_config(tmp_path / "job.toml", **fake_job_keys(manifest, tmp_path / "out", progress=True))
    done = cli(["pairs", "--config", str(config)])
    assert done.returncode == 0, done.stderr
    lines = _progress_lines(done.stderr)
    # a line when the job starts, one per batch of 3 prompts (each is another tenth of 12), one at the end
    assert lines[0].startswith("unireward pairs: 0/12 prompts 0%")
    assert [line.split()[2] for line in lines] == ["0/12", "3/12", "6/12", "9/12", "12/12"]
    assert not _progress_lines(done.stdout) and "12/12" not in done.stdout and "━" not in done.stdout
    assert done.stdout.startswith("prompts seen     12 / 12")


def test_after_resume_the_count_covers_the_whole_job(job, tmp_path):
    root, _ = job
    manifest = root / "data" / "prompts.jsonl"
    config = write_config(tmp_path / "job.toml", **fake_job_keys(manifest, tmp_path / "out", progress=True))
    killed = cli(["pairs", "--config", str(config)], env_extra={CRASH_VAR: "after_commit:1"})
    assert killed.returncode == -signal.SIGKILL
    assert _progress_lines(killed.stderr)[-1].split()[2] == "3/12"  # lines were out before the kill
    resumed = cli(["pairs", "--config", str(config), "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    lines = _progress_lines(resumed.stderr)
    assert lines[0].startswith("unireward pairs: 6/12 prompts 50%, 6 done by an earlier run")
    assert lines[-1].startswith("unireward pairs: 12/12 prompts 100%")


def test_no_progress_flag_prints_no_progress(job, tmp_path):
    root, _ = job
    config = write_config(tmp_path / "job.toml", **fake_job_keys(root / "data" / "prompts.jsonl", tmp_path / "out",
                                                                 progress=True))
    done = cli(["pairs", "--config", str(config), "--no-progress"])
    assert done.returncode == 0 and not _progress_lines(done.stderr)


@pytest.fixture(scope="module")
def dataset(job):
    root, config = job
    done = cli(["pairs", "--config", str(config), "--no-progress"])
    assert done.returncode == 0, done.stderr
    return root / "out"


@pytest.mark.parametrize("output, bar", [("trl.parquet", "Creating parquet"), ("trl_folder", "Saving the dataset")])
def test_export_shows_the_datasets_bars_only_with_verbose(dataset, tmp_path, output, bar):
    quiet = cli(["pairs", "export", "--format", "trl", "--input", str(dataset), "--output", str(tmp_path / output)])
    assert quiet.returncode == 0, quiet.stderr
    assert bar not in quiet.stderr and "it/s" not in quiet.stderr and quiet.stderr.strip() == ""
    assert quiet.stdout.startswith("wrote trl export to")
    loud = cli(["pairs", "export", "--format", "trl", "--input", str(dataset), "--output",
                str(tmp_path / f"verbose_{output}"), "--verbose"])
    assert loud.returncode == 0, loud.stderr
    assert bar in loud.stderr
