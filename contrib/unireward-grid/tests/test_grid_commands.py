"""The grid plugin through the real ``unireward`` commands, nothing in the SDK changed for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unireward_sdk import cli


def unireward(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed command line in a fresh process, as a user runs it (the entry point finds the plugin)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIREWARD_")}
    return subprocess.run([sys.executable, "-m", "unireward_sdk", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def installed():
    import importlib.metadata as md

    if not any(ep.name == "grid" for ep in md.entry_points(group="unireward")):
        pytest.skip("unireward-grid is not installed (pip install -e contrib/unireward-grid)")


def test_plugins_lists_all_four_components_and_the_options(installed, tmp_path):
    done = unireward("plugins", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    grid = next(p for p in json.loads(done.stdout)["plugins"] if p["name"] == "grid")
    assert grid["components"] == {"filter": ["min_filled"], "modality": ["grid"], "reward_head": ["cell_count"],
                                  "task": ["grid_generation"]}
    options = unireward("plugins", "--options", "min_filled", "--json", cwd=tmp_path)
    assert options.returncode == 0, options.stderr
    assert "fewest filled cells" in options.stdout


def test_score_without_a_model(installed, write_grid, tmp_path):
    write_grid("a.grid", 3), write_grid("b.grid", 7)
    done = unireward("score", "--task", "grid_generation", "--head", "cell_count", "--mode", "pairwise",
                     "--prompt", "a grid with 3 filled cells", "--media", "a.grid", "b.grid", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout.strip().splitlines()[-1])
    assert verdict["winner"] == "A" and verdict["provenance"]["plugin"] == "cell_count"


def test_a_grid_given_to_an_image_task_is_refused(installed, write_grid, tmp_path):
    write_grid("a.grid", 3), write_grid("b.grid", 7)
    done = unireward("score", "--task", "image_generation", "--head", "cell_count", "--mode", "pairwise",
                     "--prompt", "3 cells", "--media", "a.grid", "b.grid", cwd=tmp_path)
    assert done.returncode == 2  # bad usage
    # refused by name when the item is read: the task judges images, this is a grid
    assert "'a.grid' is a grid file and task 'image_generation' takes image" in done.stderr


def _pair_job(tmp_path: Path, write_grid, filters: str) -> Path:
    for name, filled in (("c1", 1), ("c3", 3), ("c5", 5), ("c8", 8)):
        write_grid(f"{name}.grid", filled)
    rows = [{"id": "p3", "prompt": "a grid with 3 filled cells", "candidates": ["c1.grid", "c3.grid", "c5.grid"]},
            {"id": "p8", "prompt": "a grid with 8 filled cells", "candidates": ["c1.grid", "c8.grid"]}]
    (tmp_path / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    job = tmp_path / "job.toml"
    job.write_text(f'[pairs]\nmanifest = "prompts.jsonl"\noutput = "out"\ntask = "grid_generation"\n'
                   f'head = "cell_count"\nfilters = {filters}\n', encoding="utf-8")
    return job


def test_pairs_with_the_filter_and_its_option(write_grid, tmp_path):
    job = _pair_job(tmp_path, write_grid, '[{name = "min_filled", options = {min_filled = 2}}, '
                                          '{name = "pair_ranking"}, {name = "point_sifting"}]')
    assert cli.main(["pairs", "--config", str(job), "--no-progress"]) == 0
    rows = {r["prompt_id"]: r for r in map(json.loads, (tmp_path / "out" / "pairs.jsonl").read_text().splitlines())}
    # min_filled=2 left out c1: p3 ranks c3 against c5 (c3 is exact), p8 keeps one candidate and is dropped
    pair = rows["p3"]["record"]
    assert (tmp_path / "out" / pair["chosen"]["path"]).read_text() == (tmp_path / "c3.grid").read_text()
    assert pair["chosen"]["modality"] == "grid"
    assert rows["p8"]["kind"] == "dropped" and rows["p8"]["record"]["reason"] == "too_few_candidates"
    assert "c1.grid" not in json.dumps(rows["p3"])


def test_pairs_refuses_a_misspelt_option_before_writing(write_grid, tmp_path, capsys):
    job = _pair_job(tmp_path, write_grid, '[{name = "min_filled", options = {min_filed = 2}}, '
                                          '{name = "pair_ranking"}, {name = "point_sifting"}]')
    assert cli.main(["pairs", "--config", str(job), "--no-progress"]) == 2
    assert "Did you mean 'min_filled'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_eval_pairwise_jsonl_without_a_model(write_grid, tmp_path, capsys):
    write_grid("three.grid", 3), write_grid("six.grid", 6)
    rows = [{"id": "e1", "task": "grid_generation", "prompt": "3 filled cells",
             "a": {"path": "three.grid"}, "b": {"path": "six.grid"}, "label": "A"},
            {"id": "e2", "task": "grid_generation", "prompt": "6 filled cells",
             "a": {"path": "three.grid"}, "b": {"path": "six.grid"}, "label": "B"}]
    (tmp_path / "bench.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code = cli.main(["eval", "--benchmark", "pairwise-jsonl", "--data", str(tmp_path / "bench.jsonl"),
                     "--head", "cell_count", "--out", str(tmp_path / "report")])
    assert code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["n"] == 2 and report["metrics"]["tau"]["correct"] == 2


def test_training_records_read_grid_candidates(write_grid, tmp_path):
    from unireward_sdk.training.records import load_records

    write_grid("three.grid", 3), write_grid("six.grid", 6)
    [record] = load_records([{"task": "grid_generation", "prompt": "3 filled cells",
                              "candidates": ["three.grid", "six.grid"], "label": "A"}], base_dir=tmp_path)
    assert [c.modality for c in record.item().candidates] == ["grid", "grid"]
    assert record.candidates[0]["path"] == str((tmp_path / "three.grid").resolve())
