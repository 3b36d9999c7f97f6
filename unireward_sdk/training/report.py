"""What a training run and an ablation report: plain records with JSON, Markdown and (ablation) a bar plot.

Matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import field, frozen

from ..evaluation.metrics import as_percent
from .evaluate import ANSWERS, TaskScore


def _scores_dict(scores: Mapping[str, TaskScore]) -> dict[str, Any]:
    return {task: s.to_dict() for task, s in scores.items()}


def _answers_text(score: TaskScore | None) -> str:
    """``7 / 9 / 0 / 0``: the pairs the judge answered A / B / tie / failed."""
    if score is None or not score.answers:
        return "—"
    return " / ".join(str(score.answers.get(a, 0)) for a in ANSWERS)


def _confidence_text(score: TaskScore | None) -> str:
    return "—" if score is None or score.confidence is None else f"{score.confidence:.4g}"


def _one_answer_notes(label: str, scores: Mapping[str, TaskScore | None]) -> list[str]:
    """A line for every task where the judge gave all held-out pairs one answer: that explains its accuracy."""
    notes = []
    for task, s in scores.items():
        if s is None or not s.answers or not s.n:
            continue
        only = [a for a, count in s.answers.items() if count == s.n]
        if only:
            p = "" if s.confidence is None else f" (mean probability {s.confidence:.4g})"
            if only[0] == "failed":
                notes.append(f"- {label}{task}: the judge failed on every pair (see the failures), so its "
                             "accuracy is 0")
            else:
                notes.append(f"- {label}{task}: the judge answered '{only[0]}' to every pair{p}, so its accuracy "
                             "is the share of pairs whose truth is that answer, not a measure of judging")
    return notes


def _ci_text(score: TaskScore | None) -> str:
    if score is None or score.accuracy is None:
        return "—"
    text = as_percent(score.accuracy)
    if score.ci:
        text += f" [{as_percent(score.ci[0])}, {as_percent(score.ci[1])}]"
    return text


@frozen
class TrainReport:
    """One judge-training run: data, budget, loss curve, evaluations, and where the judge was saved."""

    kind: str  # generative | scalar
    base_model: str
    output_dir: str | None
    family: str
    steps: int
    examples: Mapping[str, int] = field(converter=dict)  # training examples per task
    balance: Mapping[str, Mapping[str, int]] = field(factory=dict, converter=dict)  # pairwise targets A/B/tie
    losses: tuple[tuple[int, float], ...] = field(default=(), converter=tuple)  # (optimizer step, loss)
    evaluations: tuple[tuple[int, Mapping[str, TaskScore]], ...] = field(default=(), converter=tuple)
    skipped_too_long: int = 0
    seconds: float = 0.0
    config: Mapping[str, Any] = field(factory=dict, converter=dict)
    trainable_parameters: int = 0

    @property
    def final(self) -> dict[str, TaskScore]:
        """The last evaluation, per task (empty without evaluation records)."""
        return dict(self.evaluations[-1][1]) if self.evaluations else {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "base_model": self.base_model, "output_dir": self.output_dir, "family": self.family,
            "steps": self.steps, "examples": dict(self.examples), "balance": {k: dict(v) for k, v in self.balance.items()},
            "losses": [list(x) for x in self.losses],
            "evaluations": [{"step": step, "tasks": _scores_dict(scores)} for step, scores in self.evaluations],
            "final": _scores_dict(self.final), "skipped_too_long": self.skipped_too_long, "seconds": self.seconds,
            "trainable_parameters": self.trainable_parameters, "config": dict(self.config),
        }

    def markdown(self) -> str:
        lines = [f"# {self.kind} judge training", "",
                 f"- base model: `{self.base_model}` (family {self.family})",
                 f"- saved to: `{self.output_dir}`" if self.output_dir else "- not saved",
                 f"- optimizer steps: {self.steps}; examples per task: "
                 + ", ".join(f"{t} {n}" for t, n in self.examples.items()),
                 f"- time: {self.seconds:.1f} s"]
        if self.skipped_too_long:
            lines.append(f"- examples left out as longer than max_length: {self.skipped_too_long}")
        if self.losses:
            first, last = self.losses[0][1], self.losses[-1][1]
            lines.append(f"- loss: {first:.4f} (step {self.losses[0][0]}) -> {last:.4f} (step {self.losses[-1][0]})")
        if self.final:
            lines += ["", "| task | pairwise accuracy % [95% CI] | n | answered A / B / tie / failed | "
                      "mean p(answer) | A-rate | Spearman | n points |",
                      "|---|---|---|---|---|---|---|---|"]
            for task, s in self.final.items():
                spearman = "—" if s.spearman is None else f"{s.spearman:.3f}"
                a_rate = "—" if s.a_rate is None else f"{s.a_rate:.2f}"
                lines.append(f"| {task} | {_ci_text(s)} | {s.n} | {_answers_text(s)} | {_confidence_text(s)} | "
                             f"{a_rate} | {spearman} | {s.n_points} |")
            notes = _one_answer_notes("", self.final)
            if notes:
                lines += ["", *notes]
        return "\n".join(lines) + "\n"

    def write(self, folder: str | Path) -> Path:
        """``training_report.json`` and ``training_report.md`` in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "training_report.json").write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        (folder / "training_report.md").write_text(self.markdown())
        return folder


@frozen
class AblationRow:
    task: str
    single: TaskScore | None
    joint: TaskScore | None

    @property
    def delta(self) -> float | None:
        """Joint minus single-task pairwise accuracy (None when either is undefined)."""
        if self.single is None or self.joint is None or self.single.accuracy is None or self.joint.accuracy is None:
            return None
        return self.joint.accuracy - self.single.accuracy


@frozen
class AblationReport:
    """Joint vs single-task judges with matched budgets, evaluated per task."""

    judge: str  # generative | scalar
    tasks: tuple[str, ...] = field(converter=tuple)
    rows: tuple[AblationRow, ...] = field(converter=tuple)
    budget: Mapping[str, Any] = field(factory=dict, converter=dict)
    runs: Mapping[str, TrainReport] = field(factory=dict, converter=dict)  # "joint" and each task name
    output_dir: str | None = None

    def row(self, task: str) -> AblationRow:
        return next(r for r in self.rows if r.task == task)

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge, "tasks": list(self.tasks), "budget": dict(self.budget),
            "rows": [{"task": r.task, "single": r.single.to_dict() if r.single else None,
                      "joint": r.joint.to_dict() if r.joint else None, "delta": r.delta} for r in self.rows],
            "runs": {name: run.to_dict() for name, run in self.runs.items()},
            "output_dir": self.output_dir,
        }

    def markdown(self) -> str:
        b = self.budget
        lines = [f"# Joint vs single-task {self.judge} judges", "",
                 f"Matched budget: every judge takes {b.get('steps')} optimizer steps of "
                 f"{b.get('examples_per_step')} examples (batch {b.get('batch_size')} x grad_accum "
                 f"{b.get('grad_accum')}), lr {b.get('lr')}, seed {b.get('seed')}.", "",
                 "| task | single-task acc % [95% CI] | joint acc % [95% CI] | joint - single (pts) | n eval | "
                 "single answered A / B / tie / failed | joint answered A / B / tie / failed |",
                 "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            delta = "—" if r.delta is None else f"{100 * r.delta:+.1f}"
            n = (r.joint or r.single).n if (r.joint or r.single) else 0
            lines.append(f"| {r.task} | {_ci_text(r.single)} | {_ci_text(r.joint)} | {delta} | {n} | "
                         f"{_answers_text(r.single)} | {_answers_text(r.joint)} |")
        notes = (_one_answer_notes("single-task judge, ", {r.task: r.single for r in self.rows})
                 + _one_answer_notes("joint judge, ", {r.task: r.joint for r in self.rows}))
        if notes:
            lines += ["", *notes]
        return "\n".join(lines) + "\n"

    def plot(self, path: str | Path) -> Path:
        """A grouped bar chart (single vs joint accuracy per task, with CI whiskers) as PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        path = Path(path)
        fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(self.rows) + 1.5), 3.6))
        width = 0.38
        for offset, (name, colour) in ((-width / 2, ("single", "#9aa5b1")), (width / 2, ("joint", "#2f6db5"))):
            heights, low, high = [], [], []
            for r in self.rows:
                s: TaskScore | None = getattr(r, name)
                acc = s.accuracy if s is not None and s.accuracy is not None else float("nan")
                heights.append(100 * acc)
                ci = s.ci if s is not None and s.ci else None
                low.append(100 * (acc - ci[0]) if ci else 0.0)
                high.append(100 * (ci[1] - acc) if ci else 0.0)
            xs = [i + offset for i in range(len(self.rows))]
            ax.bar(xs, heights, width, label=f"{name}-task" if name == "single" else "joint",
                   color=colour, yerr=[low, high], capsize=3)
        ax.axhline(50, color="#cc4444", linewidth=0.8, linestyle="--", label="chance (A/B)")
        ax.set_xticks(range(len(self.rows)))
        ax.set_xticklabels([r.task.replace("_", "\n") for r in self.rows], fontsize=8)
        ax.set_ylabel("pairwise accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title(f"Joint vs single-task {self.judge} judges (matched steps)", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path

    def write(self, folder: str | Path) -> dict[str, Path]:
        """``ablation.json``, ``ablation.md`` and ``ablation.png`` in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"json": folder / "ablation.json", "markdown": folder / "ablation.md", "plot": folder / "ablation.png"}
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        paths["markdown"].write_text(self.markdown())
        self.plot(paths["plot"])
        return paths
