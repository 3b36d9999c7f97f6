"""Held-out evaluation of a judge during and after training, per task, with the evaluation harness's metrics.

Pairwise records become benchmark examples whose gold label is the record's ``truth`` (the testbed's
oracle answer) when present, else its ``label``; the harness shows each pair in a seeded random order
and scores accuracy (a tie is right only when the judge says tie), with a bootstrap interval and the rate
at which decisive verdicts pick position A, with the answer mix (how many pairs the judge answered A, B,
tie, or failed to answer) and the mean probability it gave its own answer, which explain an accuracy that
looks wrong: a judge that answers ``tie`` to every pair scores the share of ties in the truth. Pointwise records are scored and correlated (Spearman) with
their ``truth`` or ``score``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from attrs import field, frozen

from ..evaluation import metrics as M
from ..evaluation.benchmarks import BenchmarkExample
from ..evaluation.pointwise import score_items, summarize_pointwise
from ..evaluation.runner import evaluate_pairwise
from .records import TrainingRecord, tasks_in


@frozen
class TaskScore:
    """How well one judge does on one task's held-out records."""

    task: str
    n: int = 0  # pairwise records judged
    accuracy: float | None = None
    ci: tuple[float, float] | None = None
    failures: int = 0
    a_rate: float | None = None  # among decisive verdicts, the fraction picking A (about 0.5 when unbiased)
    # pairs answered A / B / tie / failed (as shown to the judge); a dict, so kept out of the hash
    answers: Mapping[str, int] | None = field(default=None, hash=False)
    confidence: float | None = None  # mean probability of the judge's own answer, where the head reports one
    n_points: int = 0  # pointwise records scored
    spearman: float | None = None
    spearman_ci: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "n": self.n, "accuracy": self.accuracy,
                "ci": list(self.ci) if self.ci else None, "failures": self.failures, "a_rate": self.a_rate,
                "answers": dict(self.answers) if self.answers is not None else None, "confidence": self.confidence,
                "n_points": self.n_points, "spearman": self.spearman,
                "spearman_ci": list(self.spearman_ci) if self.spearman_ci else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskScore:
        values = dict(data)
        for key in ("ci", "spearman_ci"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


def split_eval(records: Sequence[TrainingRecord], *, limit: int | None = None
               ) -> tuple[dict[str, list[TrainingRecord]], dict[str, list[TrainingRecord]]]:
    """Pairwise and pointwise evaluation records by task (at most ``limit`` of each per task)."""
    pairs: dict[str, list[TrainingRecord]] = {}
    points: dict[str, list[TrainingRecord]] = {}
    for r in records:
        bucket = pairs if r.mode == "pairwise" else points
        group = bucket.setdefault(r.task, [])
        if limit is None or len(group) < limit:
            group.append(r)
    return pairs, points


def evaluate_records(
    make_head: Callable[[str], Any],
    records: Sequence[TrainingRecord],
    *,
    tasks: Sequence[str] | None = None,
    seed: int = 0,
    bootstrap: int = 1000,
    pointwise: bool = True,
    limit: int | None = None,
    batch_size: int = 16,
) -> dict[str, TaskScore]:
    """Judge the held-out records of each task with ``make_head(task)`` and score them (see module docstring)."""
    pairs, points = split_eval(records, limit=limit)
    out: dict[str, TaskScore] = {}
    for task in tasks if tasks is not None else tasks_in(records):
        head = make_head(task)
        values: dict[str, Any] = {"task": task}
        task_pairs = pairs.get(task, [])
        if task_pairs:
            examples = [BenchmarkExample(item=r.item(f"{r.id}#{i}"), label=r.truth) for i, r in enumerate(task_pairs)]
            judged = evaluate_pairwise(head, examples, seed=seed, chunk_size=batch_size)
            predictions = [j.prediction for j in judged]
            labels = [j.label for j in judged]
            values.update(
                n=len(judged), accuracy=M.accuracy(predictions, labels), failures=M.failure_count(predictions),
                a_rate=M.a_preference_rate(predictions), answers=answer_mix(predictions),
                confidence=mean_confidence([j.verdict for j in judged]),
                ci=M.bootstrap_metric(M.accuracy, [predictions, labels], n_resamples=bootstrap, seed=seed)
                if bootstrap else None,
            )
        task_points = points.get(task, []) if pointwise else []
        if task_points:
            scores = score_items(head, [r.item(f"{r.id}#{i}") for i, r in enumerate(task_points)],
                                 chunk_size=batch_size)
            summary = summarize_pointwise([r.truth_score for r in task_points], scores,
                                          n_bootstrap=bootstrap, seed=seed)
            spearman = summary["metrics"]["spearman"]
            values.update(n_points=len(task_points), spearman=spearman["value"],
                          spearman_ci=tuple(spearman["ci"]) if spearman["ci"] else None)
        out[task] = TaskScore(**values)
    return out


ANSWERS = ("A", "B", "tie", "failed")


def answer_mix(predictions: Sequence[str | None]) -> dict[str, int]:
    """How many pairs were answered A, B and tie, and how many failed (None), in that order."""
    return {answer: sum((p if p is not None else "failed") == answer for p in predictions) for answer in ANSWERS}


def mean_confidence(verdicts: Sequence[Any]) -> float | None:
    """Mean probability a head gave its own answer, over the verdicts that carry probabilities (None: none do)."""
    values = [float(v.probabilities[v.winner]) for v in verdicts
              if v.ok and v.probabilities and v.winner in v.probabilities]
    return sum(values) / len(values) if values else None
