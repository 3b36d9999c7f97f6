"""Scale-out: `accelerate launch` with 2 CPU processes writes one shard per process, and the merged dataset equals
the single-process one; a 2-process job killed mid-way resumes in 1 process to the same bytes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pairs_helpers import REPO, dataset_bytes, fake_job_keys, understanding_manifest, write_config

from unireward_sdk.pairs import PairDataset, PairJob, PairJobConfig
from unireward_sdk.pairs.store import CRASH_VAR

ACCELERATE = str(Path(sys.executable).with_name("accelerate"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(config: Path, *extra: str, env_extra=None) -> subprocess.CompletedProcess:
    # accelerate's --cpu flag runs a single process; --multi_gpu starts torchrun workers, and without CUDA
    # the job's PartialState joins them over gloo (MULTI_CPU)
    cmd = [ACCELERATE, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
           "-m", "unireward_sdk", "pairs", "--config", str(config), "--no-progress", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env_extra or {})}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    root = tmp_path_factory.mktemp("single")
    manifest = understanding_manifest(root / "data", prompts=14)
    cfg = PairJobConfig(**fake_job_keys(manifest, root / "out"))
    PairJob(cfg).run()
    return manifest, root / "out"


def test_two_processes_equal_one(single, tmp_path):
    manifest, reference = single
    config = write_config(tmp_path / "job.toml", **fake_job_keys(manifest, tmp_path / "out"))
    done = launch(config)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "out"
    shards = sorted(p.name for p in (out / "shards").iterdir())
    assert shards == ["rank-00000.jsonl", "rank-00001.jsonl"]
    assert all((out / "shards" / s).stat().st_size > 0 for s in shards)
    assert done.stdout.count("prompts seen") == 1  # the summary is printed once, by the main process
    assert dataset_bytes(out) == dataset_bytes(reference)
    assert (out / "pairs.jsonl").read_bytes() == (reference / "pairs.jsonl").read_bytes()


def test_two_process_job_killed_then_resumed_in_one_process(single, tmp_path):
    manifest, reference = single
    config = write_config(tmp_path / "job.toml", **fake_job_keys(manifest, tmp_path / "out"))
    # batches 0-4 (3 prompts each): rank 0 takes 0-2, rank 1 takes 3-4; rank 1 dies after committing batch 3
    killed = launch(config, env_extra={CRASH_VAR: "after_commit:3"})
    assert killed.returncode != 0
    assert not PairDataset(tmp_path / "out").complete
    assert 3 in PairDataset(tmp_path / "out").committed_batches()
    job = PairJob(PairJobConfig.from_toml(config))
    summary = job.run(resume=True)
    assert summary["complete"]
    assert dataset_bytes(tmp_path / "out") == dataset_bytes(reference)
