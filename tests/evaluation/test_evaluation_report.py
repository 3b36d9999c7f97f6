"""Report files: JSON with every figure, Markdown tables, non-empty PNG plots, per-item predictions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from evaluation_fixtures import ScriptedHead

from unireward_sdk.evaluation import build_report, evaluate_pairwise, load_benchmark, summarize, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _report(bench, head, protocol="benchmark", **kw):
    judged = evaluate_pairwise(head, bench.examples, **kw)
    summary = summarize(judged, bench.info, n_bootstrap=200, seed=0, protocol=protocol)
    return judged, build_report(summary, bench.info, {"model": "fake", "head": "scripted", "seed": 0,
                                                      "randomize_order": True, "both_orders": False,
                                                      "data": bench.source})


def test_report_folder_for_a_tie_benchmark(tmp_path, genai_image_jsonl):
    bench = load_benchmark("genai-bench-image", genai_image_jsonl)
    head = ScriptedHead({("genai-bench-image-000001", "genai-bench-image-000001:left"): None,
                         ("genai-bench-image-000001", "genai-bench-image-000001:right"): None}, default="A")
    judged, report = _report(bench, head, protocol="unifiedreward", seed=2)
    files = write_report(tmp_path / "out", report, judged)
    assert sorted(files) == ["accuracy.png", "confusion.png", "predictions.jsonl", "report.json", "report.md"]
    for name in ("accuracy.png", "confusion.png"):
        data = files[name].read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 2000
    doc = json.loads(files["report.json"].read_text())
    assert doc["benchmark"]["name"] == "genai-bench-image"
    for key in ("tau", "diff", "tau_ties_counted_wrong"):
        fig = doc["metrics"][key]
        assert set(fig) == {"value", "ci", "correct", "n"} and fig["ci"][0] <= fig["value"] <= fig["ci"][1]
    assert doc["failures"]["count"] == 1
    assert {"a_preference_rate", "gold_a_rate", "tie_rate", "swap_consistency"} <= set(doc["position_bias"])
    assert doc["published"][0] == {"judge": "UnifiedReward", "figures_percent": {"tau": 54.8, "diff": 70.9},
                                   "source": "UnifiedReward, arXiv 2503.05236", "protocol": "unifiedreward"}
    assert doc["bootstrap"]["n_resamples"] == 200
    assert set(doc["files"]) == set(files)
    md = files["report.md"].read_text()
    tau = doc["metrics"]["tau"]
    assert f"| tau (accuracy with ties) | {100 * tau['value']:.1f} |" in md
    assert "| bothbad_vote |" in md and "## Position bias" in md and "| UnifiedReward | tau 54.8, diff 70.9 |" in md
    rows = [json.loads(line) for line in files["predictions.jsonl"].read_text().splitlines()]
    assert len(rows) == 6 and rows[1]["status"] == "unparsed" and rows[1]["correct"] is False
    assert {"id", "gold", "verdict", "swapped", "raw", "published_label"} <= set(rows[0])


def test_report_for_vlrb_shows_categories_and_macro(tmp_path, vlrb_jsonl):
    bench = load_benchmark("vl-rewardbench", vlrb_jsonl)
    judged, report = _report(bench, ScriptedHead(default="A"), randomize_order=False)
    files = write_report(tmp_path / "vl", report, judged)
    doc = json.loads(files["report.json"].read_text())
    assert set(doc["metrics"]) == {"accuracy", "macro_accuracy"}
    assert list(doc["categories"]) == ["general", "hallucination", "reasoning"]
    md = files["report.md"].read_text()
    assert "| macro accuracy (mean of the three groups) | 50.0 |" in md and "| hallucination | 50.0 |" in md
    assert files["accuracy.png"].read_bytes().startswith(PNG_MAGIC)


def test_plots_can_be_skipped_and_reports_are_deterministic(tmp_path, genai_image_jsonl):
    bench = load_benchmark("genai-bench-image", genai_image_jsonl)
    judged, report = _report(bench, ScriptedHead(default="B"), seed=9)
    a = write_report(tmp_path / "a", report, judged, plots=False)
    assert "accuracy.png" not in a and not (tmp_path / "a" / "accuracy.png").exists()
    judged2, report2 = _report(bench, ScriptedHead(default="B"), seed=9)
    b = write_report(tmp_path / "b", report2, judged2, plots=False)
    assert a["report.json"].read_text() == b["report.json"].read_text()


def test_importing_evaluation_stays_light():
    code = ("import sys, unireward_sdk.evaluation, unireward_sdk.cli.eval; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'datasets', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("confidence", [0.9, 0.99])
def test_confidence_level_widens_intervals(genai_image_jsonl, confidence):
    bench = load_benchmark("genai-bench-image", genai_image_jsonl)
    judged = evaluate_pairwise(ScriptedHead(default="A"), bench.examples, seed=0)
    narrow = summarize(judged, bench.info, n_bootstrap=300, confidence=0.5)["metrics"]["accuracy"]["ci"]
    wide = summarize(judged, bench.info, n_bootstrap=300, confidence=confidence)["metrics"]["accuracy"]["ci"]
    assert wide[0] <= narrow[0] and wide[1] >= narrow[1] and wide != narrow


def test_docs_cover_every_eval_option_and_benchmark():
    import argparse
    from pathlib import Path

    from unireward_sdk.cli import eval as eval_cli
    from unireward_sdk.evaluation import benchmark_names

    parser = argparse.ArgumentParser()
    sub = eval_cli.add_parser(parser.add_subparsers())
    text = (Path(__file__).resolve().parents[2] / "docs" / "evaluation.md").read_text(encoding="utf-8")
    options = [o for action in sub._actions for o in action.option_strings if o.startswith("--") and o != "--help"]
    missing = [o for o in options if f"`{o}" not in text and f", `{o}" not in text and f"{o} " not in text]
    assert not missing, f"docs/evaluation.md does not mention {missing}"
    assert all(f"`{name}`" in text for name in [*benchmark_names(), "pointwise-jsonl"])
