"""`unireward eval` end to end: a third party's head registered through a fake spec, and a tiny real judge,
on fixture files of each of the four benchmark formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evaluation_fixtures import write_jsonl

from unireward_sdk.cli import main
from unireward_sdk.records import Score, Verdict
from unireward_sdk.specs import BackendSpec, RewardHeadSpec
from unireward_sdk.testing import spec_plugin, temporary_plugin

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPORT_FILES = {"report.json", "report.md", "predictions.jsonl", "accuracy.png", "confusion.png"}


# --- a third party's judge: its own backend and head, known to the SDK only through spec records -------


class ToyBackend:
    name = "toy-backend"
    family = "qwen_v1"

    def __init__(self, checkpoint: str, **options):
        self.checkpoint = checkpoint
        self.options = options


class LongerIsBetterHead:
    """Prefers the candidate with the longer text, or path (a tie when equal); scores by text length."""

    name = "longer-is-better"

    def __init__(self, backend, task, batch_size=16, registry=None, template=None, media=None):
        self.backend, self.task, self.batch_size = backend, task, batch_size

    @staticmethod
    def _size(candidate) -> int:
        return len(candidate.text) if candidate.text is not None else len(Path(candidate.path).name)

    def judge_pairwise(self, items):
        out = []
        for it in items:
            a, b = (self._size(c) for c in it.candidates)
            out.append(Verdict(item_id=it.id, winner="A" if a > b else "B" if b > a else "tie", raw=f"{a} vs {b}"))
        return out

    def score_pointwise(self, items):
        return [Score(item_id=it.id, value=float(self._size(it.candidates[0])), scale=(0.0, 100.0)) for it in items]


TOY = spec_plugin(
    BackendSpec(name="toy-backend", factory=ToyBackend, families=("qwen_v1",)),
    RewardHeadSpec(name="longer-is-better", factory=LongerIsBetterHead, modes=("pairwise", "pointwise")),
    name="toy_eval_plugin",
)


@pytest.fixture
def toy():
    with temporary_plugin(TOY, name="toy_eval_plugin", distribution="toy-eval", version="0.1") as host:
        yield host


def _eval(data: Path, benchmark: str, out: Path, *extra: str) -> int:
    return main(["eval", "--benchmark", benchmark, "--data", str(data), "--out", str(out),
                 "--bootstrap", "100", *extra])


def _check_report(out: Path, n: int) -> dict:
    assert REPORT_FILES <= {p.name for p in out.iterdir()}
    for png in ("accuracy.png", "confusion.png"):
        data = (out / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 2000
    doc = json.loads((out / "report.json").read_text())
    assert doc["n"] == n
    assert len((out / "predictions.jsonl").read_text().splitlines()) == n
    assert (out / "report.md").read_text().startswith("# ")
    return doc


FORMATS = ("genai-bench-image", "genai-bench-video", "videogen-rewardbench", "vl-rewardbench")


@pytest.fixture
def bench_file(request, genai_image_parquet, genai_video_jsonl, videogen_csv, vlrb_parquet):
    return {"genai-bench-image": (genai_image_parquet, 6), "genai-bench-video": (genai_video_jsonl, 4),
            "videogen-rewardbench": (videogen_csv, 4), "vl-rewardbench": (vlrb_parquet, 6)}


@pytest.mark.parametrize("bench_name", FORMATS)
def test_third_party_head_on_each_format(toy, bench_file, tmp_path, capsys, bench_name):
    data, n = bench_file[bench_name]
    rc = _eval(data, bench_name, tmp_path / "out", "--model", "toy-checkpoint", "--backend", "toy-backend",
               "--head", "longer-is-better")
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert f"judged {n}/{n}" in captured.err and "report:" in captured.out
    doc = _check_report(tmp_path / "out", n)
    assert doc["run"]["head"] == "longer-is-better" and doc["run"]["model"] == "toy-checkpoint"
    assert doc["failures"]["count"] == 0


def test_third_party_head_figures_by_hand(toy, tmp_path, vlrb_parquet):
    # responses "answer zero for i" (17 chars) vs "answer one for i" (16): the head always prefers response 0,
    # i.e. it is right exactly on the human_ranking [0, 1] rows: RLAIF, mathverse, wildvision
    rc = _eval(vlrb_parquet, "vl-rewardbench", tmp_path / "o", "--model", "m", "--backend", "toy-backend",
               "--head", "longer-is-better", "--seed", "3")
    assert rc == 0
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    assert doc["metrics"]["accuracy"]["value"] == pytest.approx(0.5)
    assert {k: v["value"] for k, v in doc["categories"].items()} == {
        "general": 0.5, "hallucination": 0.5, "reasoning": 0.5}
    assert doc["metrics"]["macro_accuracy"]["value"] == pytest.approx(0.5)
    assert doc["run"]["seed"] == 3 and doc["run"]["randomize_order"] is True


def test_generic_pairwise_and_pointwise_files(toy, tmp_path):
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [
        {"id": "1", "question": "q", "a": "long answer", "b": "short", "label": "A", "category": "x"},
        {"id": "2", "question": "q", "a": "short", "b": "long answer", "label": "A", "category": "y"},
        {"id": "3", "question": "q", "a": "same", "b": "same", "label": "tie", "category": "y"},
    ])
    rc = _eval(pairs, "pairwise-jsonl", tmp_path / "p", "--model", "m", "--backend", "toy-backend",
               "--head", "longer-is-better", "--task", "image_understanding", "--no-randomize")
    assert rc == 0
    doc = json.loads((tmp_path / "p" / "report.json").read_text())
    assert doc["metrics"]["tau"]["value"] == pytest.approx(2 / 3)
    assert doc["metrics"]["diff"]["value"] == pytest.approx(1 / 2)
    assert doc["categories"]["y"]["value"] == pytest.approx(1 / 2)

    points = write_jsonl(tmp_path / "points.jsonl", [
        {"id": str(i), "task": "image_understanding", "question": "q", "candidate": "x" * n, "score": s}
        for i, (n, s) in enumerate([(1, 1.0), (2, 3.0), (3, 2.0), (4, 4.0)])])
    rc = _eval(points, "pointwise-jsonl", tmp_path / "s", "--model", "m", "--backend", "toy-backend",
               "--head", "longer-is-better")
    assert rc == 0
    doc = json.loads((tmp_path / "s" / "report.json").read_text())
    assert doc["metrics"]["spearman"]["value"] == pytest.approx(0.8)
    assert doc["metrics"]["pearson"]["value"] == pytest.approx(0.8)


def test_a_head_without_pairwise_mode_is_refused(tmp_path, capsys, genai_image_jsonl):
    pointwise_only = spec_plugin(
        BackendSpec(name="toy-backend-2", factory=ToyBackend),
        RewardHeadSpec(name="pointwise-only", factory=LongerIsBetterHead, modes=("pointwise",)),
        name="pointwise_only_plugin")
    with temporary_plugin(pointwise_only, name="pointwise_only_plugin"):
        rc = _eval(genai_image_jsonl, "genai-bench-image", tmp_path / "x", "--model", "m",
                   "--backend", "toy-backend-2", "--head", "pointwise-only")
    assert rc == 2  # bad usage
    assert "pointwise-only" in capsys.readouterr().err
    rc = _eval(genai_image_jsonl, "genai-bench-image", tmp_path / "y", "--model", "m", "--head", "no-such-head")
    assert rc == 2 and "no-such-head" in capsys.readouterr().err


# --- a tiny real judge (random weights), through the transformers backend and built-in heads ---------


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory):
    from unireward_sdk.testing.tiny import build_tiny_judge

    return build_tiny_judge(tmp_path_factory.mktemp("eval_tiny_judge"), arch="qwen2_vl", seed=0)


@pytest.mark.parametrize("bench_name", FORMATS)
def test_tiny_judge_end_to_end(tiny_judge, bench_file, tmp_path, capsys, bench_name):
    data, n = bench_file[bench_name]
    rc = _eval(data, bench_name, tmp_path / "out", "--model", str(tiny_judge), "--head", "fast",
               "--device", "cpu", "--batch-size", "4")
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    doc = _check_report(tmp_path / "out", n)
    assert doc["run"]["template"]  # the task's default template for the checkpoint's family was used
    # the fast head reads a probability for every label: no failures, probabilities recorded per item
    assert doc["failures"]["count"] == 0
    rows = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert all(r["probabilities"] and r["verdict"] in ("A", "B", "tie") for r in rows)
    figures = doc["metrics"]
    assert all(f["value"] is None or 0.0 <= f["value"] <= 1.0 for f in figures.values())


def test_tiny_judge_generative_symmetric_both_orders(tiny_judge, tmp_path, genai_image_jsonl):
    rc = _eval(genai_image_jsonl, "genai-bench-image", tmp_path / "gen", "--model", str(tiny_judge),
               "--head", "generative", "--symmetric", "--both-orders", "--limit", "1", "--device", "cpu")
    doc = _check_report(tmp_path / "gen", 1)
    assert rc == (1 if doc["failures"]["count"] == 1 else 0)  # 1: its only item failed
    assert doc["run"]["symmetric"] and doc["run"]["both_orders"]
    # whatever a random tiny model writes, an answer without a verdict phrase is a recorded failure
    assert doc["failures"]["count"] == sum(row["failed"] for row in doc["confusion"].values())
    assert doc["metrics"]["accuracy"]["n"] == 1 and doc["protocols"]["unifiedreward"]["metrics"]["tau"]["n"] == 1
    assert set(doc["failures"]["by_status"]) <= {"unparsed", "ambiguous", "out_of_range"}
    assert doc["position_bias"]["swap_consistency_source"] == "both_orders"


def test_protocol_switch_and_samples(toy, tmp_path, capsys, genai_image_jsonl, vlrb_parquet):
    # the toy head compares file-name lengths: right_i.png is longer, so it always names the right image (B)
    rc = _eval(genai_image_jsonl, "genai-bench-image", tmp_path / "b", "--model", "m", "--backend", "toy-backend",
               "--head", "longer-is-better", "--no-plots")
    out = capsys.readouterr().out
    assert rc == 0 and "[benchmark protocol: GenAI-Bench inference.py" in out and "accuracy 33.3%" in out
    doc = json.loads((tmp_path / "b" / "report.json").read_text())
    assert doc["protocol"] == doc["run"]["protocol"] == "benchmark" and doc["run"]["split"] == "local file"
    assert set(doc["metrics"]) == {"accuracy"} and set(doc["protocols"]) == {"benchmark", "unifiedreward"}
    rc = _eval(genai_image_jsonl, "genai-bench-image", tmp_path / "u", "--model", "m", "--backend", "toy-backend",
               "--head", "longer-is-better", "--no-plots", "--protocol", "unifiedreward")
    out = capsys.readouterr().out
    assert rc == 0 and "[unifiedreward protocol:" in out and "tau 33.3%" in out and "diff 50.0%" in out
    doc_u = json.loads((tmp_path / "u" / "report.json").read_text())
    assert doc_u["protocols"] == doc["protocols"] and doc_u["metrics"] == doc["protocols"]["unifiedreward"]["metrics"]

    rc = _eval(vlrb_parquet, "vl-rewardbench", tmp_path / "k", "--model", "m", "--backend", "toy-backend",
               "--head", "longer-is-better", "--no-plots", "--samples", "3")
    captured = capsys.readouterr()
    assert rc == 0 and "judged 18/18" in captured.err
    doc = json.loads((tmp_path / "k" / "report.json").read_text())
    assert doc["run"]["samples"] == doc["samples"] == 3 and doc["run"]["majority_selection"] == "cal.py"
    assert "random.seed(1234)" in doc["protocols"]["benchmark"]["majority_selection"]
    assert list(doc["protocols"]["benchmark"]["majority"]) == ["1", "3"]
    # a deterministic head repeats itself, so every k gives its single-sample figure
    assert doc["protocols"]["benchmark"]["majority"]["3"]["accuracy"] == pytest.approx(0.5)
    assert "## Majority voting over k samples" in (tmp_path / "k" / "report.md").read_text()
