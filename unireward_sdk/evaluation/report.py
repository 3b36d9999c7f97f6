"""Writing an evaluation report to a folder: JSON with every figure, a Markdown page, PNG plots, predictions.

Files: ``report.json`` (everything), ``report.md`` (tables), ``predictions.jsonl`` (one line per item:
gold, verdict, status, raw judge text), ``accuracy.png`` (per-category accuracy with bootstrap
intervals) and ``confusion.png`` (verdicts A / B / tie / failed against gold labels).
matplotlib is imported inside the plotting functions, so importing this module stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from . import protocols as P
from .benchmarks import BenchmarkInfo
from .labels import LABELS
from .metrics import FAILED, as_percent
from .runner import JudgedExample

REPORT_FILES = ("report.json", "report.md", "predictions.jsonl", "accuracy.png", "confusion.png")

_METRIC_NAMES = {
    "tau": "tau (accuracy with ties)",
    "diff": "diff (accuracy without ties)",
    "tau_ties_counted_wrong": "tau, ties counted wrong (UnifiedReward script convention)",
    "accuracy": "overall accuracy",
    "macro_accuracy": "macro accuracy",
}
# Where the benchmark protocol defines a figure differently, its own name.
_BENCHMARK_METRIC_NAMES = {
    "videogen-rewardbench": {"tau": "w/ Ties (tie-calibrated accuracy)", "diff": "w/o Ties (accuracy without ties)"},
    "genai-bench-image": {"accuracy": "accuracy (four-way votes)"},
    "genai-bench-video": {"accuracy": "accuracy (four-way votes)"},
    "genai-bench-edit": {"accuracy": "accuracy (four-way votes)"},
    "vl-rewardbench": {"accuracy": "overall accuracy (agree / (agree + reject))",
                       "macro_accuracy": "macro accuracy (mean of the three groups)"},
}


def metric_name(key: str, benchmark: str = "", protocol: str = P.UNIFIEDREWARD) -> str:
    if protocol == P.BENCHMARK and key in _BENCHMARK_METRIC_NAMES.get(benchmark, {}):
        return _BENCHMARK_METRIC_NAMES[benchmark][key]
    return _METRIC_NAMES.get(key, key)


def _excluded(fig: Mapping[str, Any]) -> str:
    """'; left out: 1 failed, 0 tie' for a figure that leaves items out (the count shown beside it)."""
    left = {k: v for k, v in (fig.get("excluded") or {}).items()}
    if not left:
        return ""
    return "; left out: " + ", ".join(f"{v} {k}" for k, v in left.items())


def build_report(summary: Mapping[str, Any], info: BenchmarkInfo, run: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document: run settings, the benchmark's published numbers for reference, every figure.

    Each published number names the protocol it was computed with; the Markdown page sets beside the
    run's figures only those computed with the protocol it prints.
    """
    return {
        "benchmark": {"name": info.name, "title": info.title, "kind": info.kind, "notes": list(info.notes)},
        "run": dict(run),
        **summary,
        "published": [{"judge": p.judge, "figures_percent": dict(p.figures), "source": p.source,
                       "protocol": P.published_protocol(info.name, p.judge)} for p in info.published],
    }


def prediction_rows(judged: Sequence[JudgedExample]) -> list[dict[str, Any]]:
    rows = []
    for j in judged:
        v = j.verdict
        row = {
            "id": j.example.id, "category": j.example.category, "published_label": j.example.raw_label,
            "swapped": j.swapped, "gold": j.label, "verdict": v.winner, "status": v.status,
            "correct": j.correct, "error": v.error, "raw": v.raw,
            "probabilities": dict(v.probabilities) if v.probabilities else None,
            "consistency": v.consistency,
        }
        if j.extra_samples:  # the further judgments of --samples k, same order as shown
            row["samples"] = [{"verdict": s.winner, "status": s.status, "raw": s.raw} for s in j.extra_samples]
        if j.reverse_verdict is not None:
            r = j.reverse_verdict
            row["reverse"] = {"verdict": r.winner, "status": r.status, "error": r.error, "raw": r.raw}
        rows.append(row)
    return rows


def markdown(report: Mapping[str, Any]) -> str:
    """A human-readable page with the headline table, categories, failures, position bias, references."""
    bench, run = report["benchmark"], report["run"]
    lines = [f"# {bench['title']}: judge evaluation", ""]
    judge = (f"- judgments replayed from `{run['replay']}` (no model run)" if run.get("replay") else
             f"- model: `{run.get('model')}`, head: `{run.get('head')}`")
    lines += [judge
              + (", symmetric" if run.get("symmetric") else "")
              + (f", template: {_templates(run['template'])}" if run.get("template") else ""),
              f"- data: `{run.get('data')}`" + (f" (split: {run['split']})" if run.get("split") else "")
              + f", {report['n']} items"
              + (f" (skipped: {run['skipped']})" if run.get("skipped") else ""),
              f"- seed {run.get('seed')}, A/B order randomised: {run.get('randomize_order')}, "
              f"both orders judged: {run.get('both_orders')}", ""]
    protocol = report.get("protocol", P.UNIFIEDREWARD)
    name = bench["name"]
    if report.get("scorer"):
        lines += [f"Figures: **{protocol}** protocol, computed as {report['scorer']} computes them "
                  f"(report.json holds both protocols under `protocols`).", ""]
    conf = int(round(100 * report["bootstrap"]["confidence"]))
    lines += [f"| metric | value (%) | {conf}% CI (%) | correct / n |", "|---|---:|---:|---:|"]
    for key, fig in report["metrics"].items():
        ci = fig["ci"]
        ci_txt = f"{as_percent(ci[0])} – {as_percent(ci[1])}" if ci else "—"
        count = f"{fig['correct']} / {fig['n']}" if fig["correct"] is not None else f"n = {fig['n']}"
        lines.append(f"| {metric_name(key, name, protocol)} | {as_percent(fig['value'])} | {ci_txt} | "
                     f"{count}{_excluded(fig)} |")
    dependent = [k for k, fig in report["metrics"].items() if fig.get("order_dependent")]
    if dependent:
        lines += ["", f"{', '.join(metric_name(k, name, protocol) for k in dependent)}: margins repeat, so the figure "
                  "depends on the item order (benchmark row order here), as the scorer's does."]
    if report["categories"]:
        lines += ["", "## Categories", "", f"| category | accuracy (%) | {conf}% CI (%) | correct / n |",
                  "|---|---:|---:|---:|"]
        for cat, fig in report["categories"].items():
            ci = fig["ci"]
            ci_txt = f"{as_percent(ci[0])} – {as_percent(ci[1])}" if ci else "—"
            value = as_percent(fig["value"]) if fig["value"] is not None else "n/a"
            lines.append(f"| {cat} | {value} | {ci_txt} | {fig['correct']} / {fig['n']}{_excluded(fig)} |")
    chosen = report.get("protocols", {}).get(protocol, {})
    if chosen.get("sources"):
        lines += ["", "## Sources", "", "| source | accuracy (%) | agree / (agree + reject) | items |",
                  "|---|---:|---:|---:|"]
        for src, fig in chosen["sources"].items():
            value = as_percent(fig["value"]) if fig["value"] is not None else "n/a"
            lines.append(f"| {src} | {value} | {fig['correct']} / {fig['n']}{_excluded(fig)} | {fig['items']} |")
    if chosen.get("majority"):
        lines += ["", "## Majority voting over k samples", "",
                  "| k | accuracy (%) | macro (%) | agree | reject | unparsed | other |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for k, row in chosen["majority"].items():
            c = row["counts"]
            lines.append(f"| {k} | {as_percent(row['accuracy'])} | {as_percent(row['macro_accuracy'])} | "
                         f"{c['agree']} | {c['reject']} | {c['unparsed']} | {c['other']} |")
    others = [p for p in report.get("protocols", {}) if p != protocol]
    for other in others:
        o = report["protocols"][other]
        figs = ", ".join(f"{metric_name(k, name, other)} {as_percent(f['value'])}" for k, f in o["metrics"].items())
        lines += ["", f"Other protocol, **{other}** ({o['scorer']}): {figs}. Print it with `--protocol {other}`."]
    if chosen.get("notes"):
        lines += [""] + [f"- {note}" for note in chosen["notes"]]
    lines += ["", "## Per published label", "", "| label | accuracy (%) | correct / n |", "|---|---:|---:|"]
    for raw, fig in report["per_label"].items():
        lines.append(f"| {raw} | {as_percent(fig['value'])} | {fig['correct']} / {fig['n']} |")
    if report["dimensions"]:
        lines += ["", "## Other label columns", "",
                  "| column | tau (%) | diff (%) | n | ties | failed | margins from |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for dim, d in report["dimensions"].items():
            lines.append(f"| {dim} | {as_percent(d['tau'])} | {as_percent(d['diff'])} | {d['n']} | {d['n_ties']} | "
                         f"{d.get('failed', '—')} | {d.get('margin_source', 'the same verdicts')} |")
    averages = chosen.get("averages")
    if averages:
        lines += ["", "## Leaderboard averages", "",
                  f"As {averages['source']} shows them: the mean of Overall, VQ, MQ and TA.", "",
                  "| Avg. (%) | Avg. w/o Ties (%) | Avg. w/ Ties (%) |", "|---:|---:|---:|",
                  f"| {_pct_or_na(averages['avg'])} | {_pct_or_na(averages['avg_without_ties'])} | "
                  f"{_pct_or_na(averages['avg_with_ties'])} |"]
        if averages["missing"]:
            lines.append(f"\nn/a: no figure for {', '.join(averages['missing'])}.")
    f = report["failures"]
    lines += ["", "## Failures", "",
              f"{f['count']} of {report['n']} verdicts unusable ({as_percent(f['rate'])}%)"
              + (": " + ", ".join(f"{k} {v}" for k, v in f["by_status"].items()) if f["by_status"] else "") + "."]
    b = report["position_bias"]
    lines += ["", "## Position bias", "", "| figure | value (%) |", "|---|---:|",
              f"| A-preference rate (decisive verdicts) | {as_percent(b['a_preference_rate'])} |",
              *([f"| A-preference rate per order (symmetric head) | {as_percent(b['a_preference_rate_per_order'])} |"]
                if "a_preference_rate_per_order" in b else []),
              f"| gold A rate (non-tie items, as shown) | {as_percent(b['gold_a_rate'])} |",
              f"| tie rate (usable verdicts) | {as_percent(b['tie_rate'])} |",
              f"| swap consistency | {as_percent(b['swap_consistency'])} |"]
    if b.get("swap_consistency_source"):
        lines.append(f"\nSwap consistency from: {b['swap_consistency_source']}.")
    lines += ["", "## Confusion (rows: gold, columns: verdict)", "",
              "| gold \\ verdict | " + " | ".join((*LABELS, FAILED)) + " |", "|---|" + "---:|" * (len(LABELS) + 1)]
    for gold, row in report["confusion"].items():
        lines.append(f"| {gold} | " + " | ".join(str(row[c]) for c in (*LABELS, FAILED)) + " |")
    same = [p for p in report["published"] if p.get("protocol", protocol) == protocol]
    if same:
        lines += ["", f"## Published numbers computed the same way ({protocol} protocol; for reference, not this run)",
                  "", "| judge | figures (%) | source |", "|---|---|---|"]
        for p in same:
            figs = ", ".join(f"{k} {v}" for k, v in p["figures_percent"].items())
            lines.append(f"| {p['judge']} | {figs} | {p['source']} |")
    elsewhere = [p["judge"] for p in report["published"] if p not in same]
    if elsewhere:
        lines += ["", f"Published numbers for {', '.join(elsewhere)} were computed another way; "
                  "they are in report.json and beside the other protocol's figures."]
    if bench["notes"]:
        # the benchmark's notes describe its data and the unifiedreward figures; the benchmark
        # protocol's own definitions are printed under the headline table
        title = "Notes" if protocol == P.UNIFIEDREWARD else "Notes on the data and the unifiedreward figures"
        lines += ["", f"## {title}", ""] + [f"- {n}" for n in bench["notes"]]
    return "\n".join(lines) + "\n"


def _pct_or_na(value: float | None) -> str:
    return "n/a" if value is None else as_percent(value)


def _templates(value: Any) -> str:
    """`id` for one template, `task: id` pairs for several tasks."""
    if isinstance(value, Mapping):
        ids = {k: v for k, v in value.items() if v}
        if len(set(ids.values())) == 1:
            return f"`{next(iter(ids.values()))}`"
        return ", ".join(f"{k}: `{v}`" for k, v in ids.items()) or "—"
    return f"`{value}`"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only: never needs a display
    import matplotlib.pyplot as plt

    return plt


def plot_accuracy(report: Mapping[str, Any], path: str | Path) -> Path:
    """Bars: headline metrics and per-category accuracy, with bootstrap intervals as error bars."""
    plt = _pyplot()
    bars = [(metric_name(k, report["benchmark"]["name"], report.get("protocol", P.UNIFIEDREWARD)).split(" (")[0], fig)
            for k, fig in report["metrics"].items() if k != "tau_ties_counted_wrong"]
    n_headline = len(bars)
    groups = report["categories"] or report["per_label"]
    bars += [(str(k), fig) for k, fig in groups.items()]
    names = [b[0] for b in bars]
    values = [100.0 * (fig["value"] or 0.0) for _, fig in bars]
    lower = [max(0.0, v - 100.0 * fig["ci"][0]) if fig["ci"] else 0.0 for v, (_, fig) in zip(values, bars)]
    upper = [max(0.0, 100.0 * fig["ci"][1] - v) if fig["ci"] else 0.0 for v, (_, fig) in zip(values, bars)]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(bars) + 1.5), 3.6), dpi=100)
    colors = ["#4C72B0"] * n_headline + ["#55A868"] * (len(bars) - n_headline)  # headline vs groups
    ax.bar(range(len(bars)), values, yerr=[lower, upper], capsize=4, color=colors)
    ax.set_xticks(range(len(bars)), names, rotation=20, ha="right")
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy (%)")
    conf = int(round(100 * report["bootstrap"]["confidence"]))
    ax.set_title(f"{report['benchmark']['title']} (n={report['n']}, {conf}% bootstrap CI)", fontsize=9)
    for x, v in enumerate(values):  # inside the bar's foot, clear of the error bar caps
        ax.text(x + 0.05, 2, f"{v:.1f}", ha="left", va="bottom", fontsize=8, color="white" if v > 8 else "black")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    plt.close(fig)
    return out


def plot_confusion(report: Mapping[str, Any], path: str | Path) -> Path:
    """Heat map of counts: gold labels (rows) against verdicts A / B / tie / failed (columns)."""
    plt = _pyplot()
    rows = list(report["confusion"]) or list(LABELS[:2])
    cols = [*LABELS, FAILED]
    counts = [[report["confusion"].get(r, {}).get(c, 0) for c in cols] for r in rows]
    fig, ax = plt.subplots(figsize=(4.6, 0.8 * len(rows) + 1.6), dpi=100)
    ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(1, max(max(r) for r in counts)))
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("verdict")
    ax.set_ylabel("gold")
    ax.set_title("verdicts vs gold labels", fontsize=9)
    peak = max(max(r) for r in counts) or 1
    for i, row in enumerate(counts):
        for k, value in enumerate(row):
            ax.text(k, i, str(value), ha="center", va="center", fontsize=9,
                    color="white" if value > 0.6 * peak else "black")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    plt.close(fig)
    return out


def write_report(out_dir: str | Path, report: Mapping[str, Any], judged: Sequence[JudgedExample],
                 *, plots: bool = True) -> dict[str, Path]:
    """Write every report file into ``out_dir`` (created); returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"report.json": out / "report.json", "report.md": out / "report.md",
             "predictions.jsonl": out / "predictions.jsonl"}
    if plots:
        files["accuracy.png"] = plot_accuracy(report, out / "accuracy.png")
        files["confusion.png"] = plot_confusion(report, out / "confusion.png")
    doc = dict(report)
    doc["files"] = sorted(files)
    files["report.json"].write_text(json.dumps(doc, indent=2, default=_json_default) + "\n", encoding="utf-8")
    files["report.md"].write_text(markdown(doc), encoding="utf-8")
    with files["predictions.jsonl"].open("w", encoding="utf-8") as fh:
        for row in prediction_rows(judged):
            fh.write(json.dumps(row, default=_json_default) + "\n")
    return files


def _json_default(value: Any) -> Any:
    if attrs.has(type(value)):
        return attrs.asdict(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
