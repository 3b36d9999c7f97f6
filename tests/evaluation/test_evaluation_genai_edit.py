"""GenAI-Bench's image-editing task, replaying saved judge outputs, and the leaderboard's averages (GenAI-Bench's
three-task average, VideoGen-RewardBench's Avg. columns), each on minimal files in the published layouts."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from evaluation_fixtures import GENAI_EDIT_VOTES, genai_edit_rows, png_bytes, stand_in_datasets, write_jsonl
from test_evaluation_cli import ToyBackend
from test_evaluation_protocols import RewardHead, examples

from unireward_sdk.cli import main
from unireward_sdk.errors import ConfigError
from unireward_sdk.evaluation import benchmark_info, evaluate_pairwise, load_benchmark, summarize
from unireward_sdk.records import Verdict
from unireward_sdk.specs import BackendSpec, RewardHeadSpec, TaskSpec
from unireward_sdk.testing import spec_plugin, temporary_plugin

GOLD = {"leftvote": "A", "rightvote": "B", "tievote": "tie", "bothbad_vote": "tie"}


def parse_response(response: str, human_vote: str) -> bool:
    """GenAI-Bench inference.py's parse_response, written from its code: is the answer right on this vote?"""
    found = re.search(r"\[\[.*\]\]", response)
    if found is None:
        return False
    right = {"leftvote": ("[[A>>B]]", "[[A>B]]"), "rightvote": ("[[B>>A]]", "[[B>A]]"),
             "tievote": ("[[A=B]]", "[[A=B=Good]]"), "bothbad_vote": ("[[A=B]]", "[[A=B=Bad]]")}
    return found.group() in right[human_vote]


def _eval(*argv: str) -> int:
    return main(["eval", "--bootstrap", "20", "--no-plots", *argv])


# --- the loader ---------------------------------------------------------------------------------------


def test_editing_rows_in_the_published_layout(genai_edit_parquet, tmp_path):
    bench = load_benchmark("genai-bench-edit", genai_edit_parquet.parent.parent, cache_dir=tmp_path / "cache")
    assert [ex.label for ex in bench.examples] == [GOLD[v] for v in GENAI_EDIT_VOTES]
    item = bench.examples[0].item
    assert item.task == "image_editing" and item.prompt == "turn the cat into a dog 0"
    assert Path(item.context[0]).read_bytes() == png_bytes(100)  # the source image
    assert [Path(c.path).read_bytes() for c in item.candidates] == [png_bytes(101), png_bytes(102)]
    assert [c.modality for c in item.candidates] == ["image", "image"]
    assert item.meta["source_prompt"] == "a cat on a sofa 0" and item.meta["target_prompt"] == "a dog on a sofa 0"
    assert [ex.item.meta["row"] for ex in bench.examples] == ["0", "1", "2", "3"]
    excluded = load_benchmark("genai-bench-edit", genai_edit_parquet, cache_dir=tmp_path / "cache", bothbad="exclude")
    assert len(excluded.examples) == 3 and excluded.skipped == {"bothbad_vote": 1}


def test_editing_row_without_its_source_image_is_refused(tmp_path):
    rows = genai_edit_rows(tmp_path, embed=False)
    del rows[1]["source_image"]
    data = write_jsonl(tmp_path / "edit.jsonl", rows)
    with pytest.raises(ConfigError, match="row 1 lacks field.*source_image"):
        load_benchmark("genai-bench-edit", data)


def test_editing_from_the_hub_reads_image_edition_test_v1(monkeypatch, tmp_path):
    calls = {}

    splits = {"test": [], "test_v1": genai_edit_rows(tmp_path, embed=True)}
    columns = ("source_image", "left_output_image", "right_output_image")
    monkeypatch.setitem(sys.modules, "datasets", stand_in_datasets(splits, columns, calls))
    bench = load_benchmark("genai-bench-edit", "hf", cache_dir=tmp_path / "cache")
    assert calls["load"] == ("TIGER-Lab/GenAI-Bench", "image_edition")
    assert {c for c, _ in calls["cast"]} == {"source_image", "left_output_image", "right_output_image"}
    assert all(decode is False for _, decode in calls["cast"])
    assert len(bench.examples) == 4


# --- asking a judge: no built-in task judges editing ---------------------------------------------------


class EditJudge:
    """A third party's editing judge: prefers the edit whose file name is longer (right_output_image_i)."""

    name = "edit-judge"

    def __init__(self, backend, task, batch_size=16, registry=None, template=None, media=None):
        self.task = task

    def judge_pairwise(self, items):
        out = []
        for it in items:
            assert it.context and it.prompt  # the source image and the instruction reach the judge
            a, b = (len(Path(c.path).name) for c in it.candidates)
            out.append(Verdict(item_id=it.id, winner="A" if a > b else "B" if b > a else "tie", raw=f"{a} vs {b}"))
        return out


def test_without_an_editing_task_the_judge_is_refused_before_loading(genai_edit_parquet, tmp_path, capsys):
    rc = _eval("--benchmark", "genai-bench-edit", "--data", str(genai_edit_parquet), "--out", str(tmp_path / "o"),
               "--model", str(tmp_path / "no-such-checkpoint"), "--head", "generative")
    err = capsys.readouterr().err
    assert rc == 2
    assert "no installed task judges 'image_editing'" in err and "--replay" in err
    assert "loading backend" not in err


def test_a_plugin_head_that_names_the_editing_task_judges_it(genai_edit_parquet, tmp_path, capsys):
    plugin = spec_plugin(BackendSpec(name="edit-backend", factory=ToyBackend),
                         RewardHeadSpec(name="edit-judge", factory=EditJudge, modes=("pairwise",),
                                        tasks=("image_editing",)), name="edit_plugin")
    with temporary_plugin(plugin, name="edit_plugin"):
        rc = _eval("--benchmark", "genai-bench-edit", "--data", str(genai_edit_parquet), "--out", str(tmp_path / "o"),
                   "--model", "m", "--backend", "edit-backend", "--head", "edit-judge")
    assert rc == 0, capsys.readouterr().err
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    # embedded images are cached under content-hash names of one length, so it calls every pair a plain tie,
    # which GenAI-Bench's scorer counts right on the tievote and the bothbad_vote rows
    assert doc["metrics"]["accuracy"]["correct"] == 2 and doc["metrics"]["accuracy"]["n"] == 4
    assert doc["per_label"]["tievote"]["correct"] == doc["per_label"]["bothbad_vote"]["correct"] == 1
    assert doc["scorer"].startswith("GenAI-Bench inference.py") and doc["benchmark"]["name"] == "genai-bench-edit"
    assert "accuracy (four-way votes)" in (tmp_path / "o" / "report.md").read_text()


def test_an_installed_editing_task_lets_a_generic_head_judge(genai_edit_parquet, tmp_path):
    class EditTask:
        name = "image_editing"

    plugin = spec_plugin(TaskSpec(name="image_editing", factory=EditTask, modalities=("image",)),
                         BackendSpec(name="edit-backend", factory=ToyBackend),
                         RewardHeadSpec(name="any-task-judge", factory=EditJudge, modes=("pairwise",)),
                         name="edit_task_plugin")
    with temporary_plugin(plugin, name="edit_task_plugin"):
        rc = _eval("--benchmark", "genai-bench-edit", "--data", str(genai_edit_parquet), "--out", str(tmp_path / "o"),
                   "--model", "m", "--backend", "edit-backend", "--head", "any-task-judge")
    assert rc == 0


# --- replaying saved judge outputs -----------------------------------------------------------------------

# GenAI-Bench's saved answers, one per row of the split (the judge saw the published order: left = A)
ANSWERS = ("Edit A follows the instruction. [[A>B]]", "Both fine. [[A=B=Bad]]", "Neither works. [[A=B=Bad]]",
           "I prefer [[A>B]] but also [[B>A]]")


def _genai_outputs(path: Path, answers=ANSWERS, votes=GENAI_EDIT_VOTES) -> Path:
    return write_jsonl(path, [{"idx": i, "instruct_prompt": f"turn the cat into a dog {i}", "response": a,
                               "model_vote": None, "human_vote": v, "correct": parse_response(a, v)}
                              for i, (a, v) in enumerate(zip(answers, votes))])


def test_replaying_genai_bench_outputs_gives_the_scorers_accuracy(genai_edit_parquet, tmp_path, capsys):
    outputs = _genai_outputs(tmp_path / "pairwise.jsonl")
    rc = _eval("--benchmark", "genai-bench-edit", "--data", str(genai_edit_parquet), "--out", str(tmp_path / "o"),
               "--replay", str(outputs))
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    expected = np.mean([parse_response(a, v) for a, v in zip(ANSWERS, GENAI_EDIT_VOTES)])
    # right: row 0 ([[A>B]] on leftvote) and row 2 ([[A=B=Bad]] on bothbad_vote); row 1 is a both-bad tie on a
    # tievote; row 3's greedy [[...]] spans both verdicts and is no verdict at all
    assert doc["metrics"]["accuracy"]["value"] == pytest.approx(expected) == pytest.approx(0.5)
    assert doc["metrics"]["accuracy"]["four_way_ties"] == {"bad": 2}
    assert doc["failures"]["count"] == 1 and doc["run"]["head"] == "replay" and doc["run"]["replay"] == str(outputs)
    assert doc["run"]["randomize_order"] is False and "accuracy 50.0%" in captured.out
    assert f"judgments replayed from `{outputs}`" in (tmp_path / "o" / "report.md").read_text()


def test_replaying_a_runs_predictions_gives_that_runs_figures(genai_edit_parquet, tmp_path):
    plugin = spec_plugin(BackendSpec(name="edit-backend", factory=ToyBackend),
                         RewardHeadSpec(name="edit-judge", factory=EditJudge, modes=("pairwise",),
                                        tasks=("image_editing",)), name="edit_plugin_2")
    with temporary_plugin(plugin, name="edit_plugin_2"):
        assert _eval("--benchmark", "genai-bench-edit", "--data", str(genai_edit_parquet), "--out",
                     str(tmp_path / "first"), "--model", "m", "--backend", "edit-backend", "--head", "edit-judge",
                     "--seed", "5") == 0
    assert _eval("--benchmark", "genai-bench-edit", "--data", str(genai_edit_parquet), "--out", str(tmp_path / "again"),
                 "--replay", str(tmp_path / "first" / "predictions.jsonl")) == 0
    first, again = (json.loads((tmp_path / d / "report.json").read_text()) for d in ("first", "again"))
    assert again["protocols"]["benchmark"]["metrics"]["accuracy"]["value"] == \
        first["protocols"]["benchmark"]["metrics"]["accuracy"]["value"]


def test_replay_refuses_outputs_of_other_rows_or_votes(genai_edit_parquet, tmp_path, capsys):
    short = _genai_outputs(tmp_path / "short.jsonl", ANSWERS[:2], GENAI_EDIT_VOTES[:2])
    rc = _eval("--benchmark", "genai-bench-edit", "--data", str(genai_edit_parquet), "--out", str(tmp_path / "a"),
               "--replay", str(short))
    assert rc == 2 and "no saved judgment for 2 of 4 items" in capsys.readouterr().err
    swapped_votes = _genai_outputs(tmp_path / "other.jsonl", votes=tuple(reversed(GENAI_EDIT_VOTES)))
    rc = _eval("--benchmark", "genai-bench-edit", "--data", str(genai_edit_parquet), "--out", str(tmp_path / "b"),
               "--replay", str(swapped_votes))
    assert rc == 2 and "human_vote differs" in capsys.readouterr().err
    rc = _eval("--benchmark", "genai-bench-edit", "--data", str(genai_edit_parquet), "--out", str(tmp_path / "c"),
               "--replay", str(write_jsonl(tmp_path / "odd.jsonl", [{"x": 1}])))
    assert rc == 2 and "unknown layout" in capsys.readouterr().err


# --- GenAI-Bench's three-task average ----------------------------------------------------------------------


def _report(tmp_path: Path, name: str, correct: int, n: int, split: str = "test_v1") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    doc = {"benchmark": {"name": name}, "run": {"split": split, "limit": None, "options": {}},
           "protocols": {"benchmark": {"metrics": {"accuracy": {"value": correct / n, "correct": correct, "n": n}}}}}
    (folder / "report.json").write_text(json.dumps(doc))
    return folder


def test_three_task_average_rounds_each_task_first(tmp_path, capsys):
    # 0/3, 2/3, 2/3: the tasks print 0.0, 66.67, 66.67 and the leaderboard's average of those is 44.45,
    # where the unrounded accuracies would give 44.44
    reports = [_report(tmp_path, "genai-bench-image", 0, 3), _report(tmp_path, "genai-bench-edit", 2, 3),
               _report(tmp_path, "genai-bench-video", 2, 3)]
    rc = _eval("--genai-leaderboard", *map(str, reports), "--out", str(tmp_path / "board"))
    out = capsys.readouterr().out
    assert rc == 0 and "average 44.45" in out
    row = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    assert [t["percent"] for t in row["tasks"].values()] == [0.0, 66.67, 66.67]
    assert list(row["tasks"]) == ["image_generation", "image_edition", "video_generation"]
    assert row["average"] == 44.45 and row["caveats"] == []
    assert "| 0.0 | 66.67 | 66.67 | 44.45 |" in (tmp_path / "board" / "leaderboard.md").read_text()


def test_three_task_average_needs_every_task_once(tmp_path, capsys):
    image, edit = _report(tmp_path, "genai-bench-image", 1, 2), _report(tmp_path, "genai-bench-edit", 1, 2, "test")
    rc = _eval("--genai-leaderboard", str(image), str(edit), "--out", str(tmp_path / "board"))
    captured = capsys.readouterr()
    assert rc == 0 and "average n/a (missing: video_generation)" in captured.out
    assert "split 'test', not test_v1" in captured.err
    rc = _eval("--genai-leaderboard", str(image), str(image), "--out", str(tmp_path / "b2"))
    assert rc == 2 and "a second report of image_generation" in capsys.readouterr().err
    other = _report(tmp_path, "vl-rewardbench", 1, 2)
    assert _eval("--genai-leaderboard", str(other), "--out", str(tmp_path / "b3")) == 2
    assert _eval("--out", str(tmp_path / "b4")) == 2 and "--benchmark and --data required" in capsys.readouterr().err


# --- VideoGen-RewardBench's leaderboard averages --------------------------------------------------------


def test_videogen_leaderboard_averages():
    # reward margins A - B: v0 +2, v1 -1, v2 +0.5; the head gives no per-dimension scores, so every column is
    # scored on these margins (VideoAlign: w/o Ties on the column's non-tie pairs, w/ Ties tie-calibrated)
    golds = ["A", "B", "tie"]
    dims = [{"VQ": "A", "MQ": "B", "TA": "tie"}, {"VQ": "A", "MQ": "B", "TA": "B"},
            {"VQ": "B", "MQ": "A", "TA": "tie"}]
    rewards = {"v0": (2.0, 0.0), "v1": (0.0, 1.0), "v2": (0.5, 0.0)}
    exs = examples(list(rewards), golds, task="video_generation", dims=dims)
    s = summarize(evaluate_pairwise(RewardHead(rewards), exs, randomize_order=False),
                  benchmark_info("videogen-rewardbench"), n_bootstrap=0)
    fig = s["protocols"]["benchmark"]
    # by hand (thresholds taken at |m| = 0.5, 1, 2 in turn, the best accuracy kept):
    #   Overall w/o 2/2, w/ 3/3 (v2 a tie); VQ w/o 1/3, w/ 1/3; MQ w/o 2/3, w/ 1/3; TA w/o 1/1, w/ 2/3
    assert (fig["metrics"]["diff"]["value"], fig["metrics"]["tau"]["value"]) == (1.0, 1.0)
    assert {d: (fig["dimensions"][d]["diff"], fig["dimensions"][d]["tau"]) for d in ("VQ", "MQ", "TA")} == {
        "VQ": (pytest.approx(1 / 3), pytest.approx(1 / 3)), "MQ": (pytest.approx(2 / 3), pytest.approx(1 / 3)),
        "TA": (1.0, pytest.approx(2 / 3))}
    averages = fig["averages"]
    assert averages["avg_without_ties"] == pytest.approx(3 / 4)  # (1 + 1/3 + 2/3 + 1) / 4
    assert averages["avg_with_ties"] == pytest.approx(7 / 12)  # (1 + 1/3 + 1/3 + 2/3) / 4
    assert averages["avg"] == pytest.approx(2 / 3)  # the mean of all eight
    assert averages["missing"] == []
    from unireward_sdk.evaluation import build_report, markdown

    md = markdown(build_report(s, benchmark_info("videogen-rewardbench"), {"model": "m"}))
    assert "| 66.7 | 75.0 | 58.3 |" in md.split("## Leaderboard averages")[1]


def test_videogen_averages_are_printed_by_eval(videogen_csv, tmp_path, capsys):
    plugin = spec_plugin(BackendSpec(name="video-backend", factory=ToyBackend),
                         RewardHeadSpec(name="always-a", factory=AlwaysA, modes=("pairwise",)), name="always_a")
    with temporary_plugin(plugin, name="always_a"):
        rc = _eval("--benchmark", "videogen-rewardbench", "--data", str(videogen_csv), "--out", str(tmp_path / "o"),
                   "--model", "m", "--backend", "video-backend", "--head", "always-a", "--no-randomize")
    out = capsys.readouterr().out
    assert rc == 0
    averages = json.loads((tmp_path / "o" / "report.json").read_text())["protocols"]["benchmark"]["averages"]
    assert f"leaderboard Avg. {100 * averages['avg']:.1f}%" in out
    assert "## Leaderboard averages" in (tmp_path / "o" / "report.md").read_text()


class AlwaysA:
    name = "always-a"

    def __init__(self, backend, task, batch_size=16, registry=None, template=None, media=None):
        pass

    def judge_pairwise(self, items):
        return [Verdict(item_id=it.id, winner="A", raw="A") for it in items]


def test_videogen_averages_are_na_without_the_dimension_columns():
    exs = examples(["v0", "v1"], ["A", "B"], task="video_generation")
    s = summarize(evaluate_pairwise(RewardHead({"v0": (1.0, 0.0), "v1": (0.0, 1.0)}), exs, randomize_order=False),
                  benchmark_info("videogen-rewardbench"), n_bootstrap=0)
    averages = s["protocols"]["benchmark"]["averages"]
    assert averages["avg"] is None and "VQ (w/o Ties)" in averages["missing"]


# --- the published outputs themselves (a GenAI-Bench checkout; not shipped with the SDK) -----------------

CHECKOUT = os.environ.get("UNIREWARD_GENAI_BENCH_CHECKOUT")


@pytest.mark.skipif(not CHECKOUT, reason="set UNIREWARD_GENAI_BENCH_CHECKOUT to a TIGER-AI-Lab/GenAI-Bench checkout")
def test_published_outputs_replay_to_the_published_leaderboard():
    """Every judge of genaibench_results.txt: its saved outputs (results/<task>/<judge>/pairwise.json) replayed
    through the SDK give the table's figure for each task, editing included, and its average."""
    from unireward_sdk.evaluation import build_report
    from unireward_sdk.evaluation.benchmarks import BenchmarkExample
    from unireward_sdk.evaluation.leaderboard import GENAI_TASKS, genai_leaderboard
    from unireward_sdk.evaluation.replay import ReplayHead, load_replay
    from unireward_sdk.records import Candidate, JudgeItem

    root = Path(CHECKOUT)
    table = {}
    for line in (root / "genaibench_results.txt").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1] == "pairwise":
            table[cells[0]] = cells[2:]
    assert table
    for judge, published in table.items():
        reports = []
        for bench, task in GENAI_TASKS.items():
            replay = load_replay(root / "results" / task / judge / "pairwise.json")
            info = benchmark_info(bench)
            # the split's rows as the outputs record them (no media needed: the judge's answers are saved)
            exs = [BenchmarkExample(item=JudgeItem(id=f"{task}-{i}", task=info.task, prompt="p", meta={"row": str(i)},
                                                   candidates=(Candidate(id=f"{task}-{i}:left", text="l"),
                                                               Candidate(id=f"{task}-{i}:right", text="r"))),
                                    label=GOLD[vote], raw_label=vote) for i, vote in sorted(replay.human_votes.items())]
            judged = evaluate_pairwise(ReplayHead(replay, exs), exs, seed=0)  # shown in a seeded random order
            reports.append(build_report(summarize(judged, info, n_bootstrap=0), info, {"split": "test_v1"}))
        row = genai_leaderboard(reports)
        mine = [str(row["tasks"][t]["percent"]) for t in GENAI_TASKS.values()] + [str(row["average"])]
        assert mine == published, judge
