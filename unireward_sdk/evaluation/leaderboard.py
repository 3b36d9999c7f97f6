"""Leaderboard rows computed the way each benchmark's leaderboard computes them from per-task figures.

GenAI-Bench (``show_results.py`` of TIGER-AI-Lab/GenAI-Bench, ``main_merged``): each task's accuracy is
rounded to two decimals in percent (``round(acc * 100, 2)`` on a numpy float), and the average is the mean of
the three rounded task figures, rounded again to two decimals. The three tasks are image generation, image
editing and video generation, each scored on its ``test_v1`` split by ``parse_response`` (this package's
``benchmark`` protocol). One task missing leaves the average undefined (the leaderboard shows "TBD").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

# benchmark name -> the task's name in GenAI-Bench (its results folders and leaderboard columns)
GENAI_TASKS: dict[str, str] = {
    "genai-bench-image": "image_generation",
    "genai-bench-edit": "image_edition",
    "genai-bench-video": "video_generation",
}
GENAI_COLUMNS: dict[str, str] = {
    "image_generation": "Image Generation", "image_edition": "Image Editing", "video_generation": "Video Generation",
}
GENAI_SPLIT = "test_v1"


def genai_percent(accuracy: float) -> float:
    """One task's leaderboard figure: the accuracy in percent, rounded as ``show_results.py`` rounds a numpy float."""
    return float(round(np.float64(accuracy) * 100, 2))


def genai_average(percents: Sequence[float]) -> float:
    """The leaderboard's average: the mean of the rounded task figures, rounded to two decimals."""
    return float(round(np.mean(np.asarray(percents, dtype=np.float64)), 2))


def _load(report: str | Path | Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if isinstance(report, Mapping):
        return "report", report
    path = Path(report)
    if path.is_dir():
        path = path / "report.json"
    if not path.is_file():
        raise ConfigError("no report.json here", who=str(report),
                          fix="Pass the folder (or report.json) that `unireward eval` wrote")
    return str(path), json.loads(path.read_text(encoding="utf-8"))


def genai_leaderboard(reports: Sequence[str | Path | Mapping[str, Any]]) -> dict[str, Any]:
    """GenAI-Bench's leaderboard row from the reports of one judge on its three tasks.

    Each report is an ``unireward eval`` report (folder, ``report.json`` or its dict) of ``genai-bench-image``,
    ``genai-bench-edit`` or ``genai-bench-video``; the benchmark protocol's accuracy is used whatever protocol
    the report prints. A report of another benchmark, or two of one task, is an error. Figures computed in a
    way the leaderboard does not (another split, a ``--limit``, both-bad votes dropped) are listed in
    ``caveats``. ``average`` is ``None`` until all three tasks are given.
    """
    tasks: dict[str, dict[str, Any]] = {}
    caveats: list[str] = []
    for report in reports:
        where, doc = _load(report)
        name = doc.get("benchmark", {}).get("name")
        if name not in GENAI_TASKS:
            raise ConfigError(f"a report of '{name}', not of a GenAI-Bench task", who=where,
                              fix=f"Pass reports of {', '.join(GENAI_TASKS)}")
        task = GENAI_TASKS[name]
        if task in tasks:
            raise ConfigError(f"a second report of {task} (the first: {tasks[task]['report']})", who=where,
                              fix="Pass one report per task")
        figure = doc["protocols"]["benchmark"]["metrics"]["accuracy"]
        run = doc.get("run", {})
        split = run.get("split")
        if split != GENAI_SPLIT:
            caveats.append(f"{task}: split '{split}', not {GENAI_SPLIT} (the leaderboard's v1 split)")
        if run.get("limit") is not None:
            caveats.append(f"{task}: only the first {run['limit']} rows (--limit)")
        if (run.get("options") or {}).get("bothbad") == "exclude":
            caveats.append(f"{task}: both-bad votes dropped (--bothbad exclude); the leaderboard keeps them")
        value = figure["value"]
        tasks[task] = {"report": where, "accuracy": value, "percent": None if value is None else genai_percent(value),
                       "correct": figure.get("correct"), "n": figure.get("n"), "split": split,
                       "model": run.get("model") or run.get("replay"), "head": run.get("head")}
    missing = [t for t in GENAI_TASKS.values() if t not in tasks]
    percents = [tasks[t]["percent"] for t in GENAI_TASKS.values() if t in tasks]
    average = genai_average(percents) if not missing and all(p is not None for p in percents) else None
    return {"benchmark": "GenAI-Bench", "scorer": "GenAI-Bench show_results.py main_merged (TIGER-AI-Lab/GenAI-Bench)",
            "tasks": {t: tasks[t] for t in GENAI_TASKS.values() if t in tasks}, "missing": missing,
            "average": average, "caveats": caveats}


def genai_leaderboard_markdown(row: Mapping[str, Any]) -> str:
    """The row as GenAI-Bench's leaderboard table prints it (percent, two decimals; TBD for a missing task)."""
    cells = [str(row["tasks"][t]["percent"]) if t in row["tasks"] else "TBD" for t in GENAI_TASKS.values()]
    lines = ["# GenAI-Bench leaderboard row", "",
             f"Computed as {row['scorer']} computes it: each task's accuracy in percent rounded to two decimals, "
             "the average of the three rounded figures rounded again.", "",
             "| " + " | ".join([*GENAI_COLUMNS.values(), "Average"]) + " |", "|" + "---:|" * 4,
             "| " + " | ".join([*cells, "TBD" if row["average"] is None else str(row["average"])]) + " |", ""]
    for task, t in row["tasks"].items():
        lines.append(f"- {GENAI_COLUMNS[task]}: {t['correct']} / {t['n']} right, split {t['split']}, "
                     f"from {t['report']}")
    if row["missing"]:
        lines.append(f"- missing: {', '.join(GENAI_COLUMNS[t] for t in row['missing'])} (no average without them)")
    lines += [f"- caveat: {c}" for c in row["caveats"]]
    return "\n".join(lines) + "\n"


__all__ = ["GENAI_COLUMNS", "GENAI_SPLIT", "GENAI_TASKS", "genai_average", "genai_leaderboard",
           "genai_leaderboard_markdown", "genai_percent"]
