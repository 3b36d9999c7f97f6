"""Judging benchmark examples with any pairwise head: seeded order randomisation, both-order runs, progress.

Before judging, each example's A/B order is flipped with probability 1/2 by a seeded RNG and its gold
label mirrored, so a judge that always prefers one position scores near chance rather than near the
benchmark's label balance. With ``both_orders=True`` every item is also judged with A and B exchanged;
accuracy is still scored on the first (randomised) order and the second gives swap consistency.

A head is anything with ``judge_pairwise(items) -> list[Verdict]`` (one verdict per item, same order,
same ``item_id``), or a mapping ``task -> head`` when examples span tasks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from attrs import field, frozen

from ..errors import ConfigError, PluginError, UniRewardError
from ..records import JudgeItem, Verdict, failure_status
from .benchmarks import BenchmarkExample
from .labels import mirror

ProgressFn = Callable[[int, int], None]


@frozen
class JudgedExample:
    """One example after judging. ``label`` and ``verdict`` refer to the order the judge saw."""

    example: BenchmarkExample
    swapped: bool  # True when the judge saw the published B first
    label: str
    verdict: Verdict
    reverse_verdict: Verdict | None = None  # the same pair with A and B exchanged (both_orders)
    # further judgments of the same pair in the same order (samples > 1), for majority voting
    extra_samples: tuple[Verdict, ...] = field(default=(), converter=tuple)

    @property
    def prediction(self) -> str | None:
        return self.verdict.winner if self.verdict.ok else None

    @property
    def reverse_prediction(self) -> str | None:
        """The reverse-order verdict mapped back onto this order's A/B (None when failed or absent)."""
        v = self.reverse_verdict
        return mirror(v.winner) if v is not None and v.ok else None

    @property
    def correct(self) -> bool:
        return self.prediction is not None and self.prediction == self.label

    @property
    def sample_predictions(self) -> list[str | None]:
        """Every judgment of this pair as shown (the first, then the extra samples); None for a failure."""
        return [self.prediction] + [v.winner if v.ok else None for v in self.extra_samples]

    def dimension_label(self, dimension: str) -> str | None:
        gold = self.example.dimension_labels.get(dimension)
        return mirror(gold) if (gold is not None and self.swapped) else gold


def present(examples: Sequence[BenchmarkExample], *, seed: int = 0, randomize: bool = True
            ) -> list[tuple[BenchmarkExample, bool, JudgeItem, str]]:
    """The order each example is shown in: (example, swapped, item as shown, gold label as shown)."""
    rng = random.Random(seed)
    shown = []
    for ex in examples:
        swap = randomize and rng.random() < 0.5
        item = ex.item.swapped() if swap else ex.item
        shown.append((ex, swap, item, mirror(ex.label) if swap else ex.label))
    return shown


def _head_for(head: Any, task: str) -> Any:
    if isinstance(head, Mapping):
        if task not in head:
            raise ConfigError(f"no head for task '{task}'", fix=f"Provide heads for: {', '.join(sorted(head))}")
        return head[task]
    return head


def _judge_chunk(head: Any, items: Sequence[JudgeItem], *, fail_fast: bool) -> list[Verdict]:
    name = getattr(head, "name", type(head).__name__)
    try:
        verdicts = list(head.judge_pairwise(list(items)))
    except (ConfigError, PluginError):
        raise  # a misconfiguration fails every item alike: stop and say so
    except Exception as exc:  # noqa: BLE001 - one bad batch is recorded, the evaluation goes on
        if fail_fast:
            raise
        error = f"head '{name}' raised {type(exc).__name__}: {exc}"
        status = failure_status(exc)
        return [Verdict.failure(it.id, status, error) for it in items]
    if len(verdicts) != len(items):
        raise UniRewardError(f"judge_pairwise returned {len(verdicts)} verdicts for {len(items)} items",
                             who=f"reward head '{name}'", fix="A pairwise head must return one verdict per item")
    for it, v in zip(items, verdicts):
        if not isinstance(v, Verdict):
            raise UniRewardError(f"judge_pairwise returned a {type(v).__name__}, not a Verdict",
                                 who=f"reward head '{name}'",
                                 fix="Return Verdict objects (Verdict.failure(...) for an item that failed)")
        if v.item_id != it.id:
            raise UniRewardError(f"verdict for item '{v.item_id}' where '{it.id}' was expected",
                                 who=f"reward head '{name}'", fix="Return verdicts in the order of the items")
    return verdicts


def judge_items(head: Any, items: Sequence[JudgeItem], *, chunk_size: int = 16,
                progress: ProgressFn | None = None, fail_fast: bool = False,
                done_before: int = 0, total: int | None = None) -> list[Verdict]:
    """Judge items in chunks (grouped by task, order kept), reporting progress after each chunk."""
    total = len(items) if total is None else total
    out: list[Verdict | None] = [None] * len(items)
    by_task: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        by_task.setdefault(it.task, []).append(i)
    done = done_before
    for task, idx in by_task.items():
        task_head = _head_for(head, task)
        for start in range(0, len(idx), max(1, chunk_size)):
            chunk = idx[start : start + chunk_size]
            for i, v in zip(chunk, _judge_chunk(task_head, [items[i] for i in chunk], fail_fast=fail_fast)):
                out[i] = v
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return out  # type: ignore[return-value]


def evaluate_pairwise(
    head: Any,
    examples: Sequence[BenchmarkExample],
    *,
    seed: int = 0,
    randomize_order: bool = True,
    both_orders: bool = False,
    chunk_size: int = 16,
    progress: ProgressFn | None = None,
    fail_fast: bool = False,
    samples: int = 1,
) -> list[JudgedExample]:
    """Judge every example (randomised order, optionally both orders) and pair verdicts with gold labels.

    ``samples=k`` judges every pair k times in the order shown (for majority voting, as VL-RewardBench
    reports it); the first judgment is the item's verdict and the others are ``extra_samples``. The k
    judgments differ only if the head samples: a greedy head gives k copies of one answer.
    """
    if samples < 1:
        raise ConfigError(f"samples must be at least 1, got {samples}", fix="Pass --samples 1 or more")
    shown = present(examples, seed=seed, randomize=randomize_order)
    items = [it for _, _, it, _ in shown]
    passes = samples + (1 if both_orders else 0)
    total = len(items) * passes
    verdicts = judge_items(head, items, chunk_size=chunk_size, progress=progress, fail_fast=fail_fast, total=total)
    extra: list[list[Verdict]] = [[] for _ in items]
    for k in range(1, samples):
        again = judge_items(head, items, chunk_size=chunk_size, progress=progress, fail_fast=fail_fast,
                            done_before=k * len(items), total=total)
        for row, v in zip(extra, again):
            row.append(v)
    reverse: list[Verdict | None] = [None] * len(items)
    if both_orders:
        reverse = judge_items(head, [it.swapped() for it in items], chunk_size=chunk_size, progress=progress,
                              fail_fast=fail_fast, done_before=samples * len(items), total=total)
    return [JudgedExample(example=ex, swapped=swap, label=gold, verdict=v, reverse_verdict=r, extra_samples=more)
            for (ex, swap, _, gold), v, r, more in zip(shown, verdicts, reverse, extra)]


class StderrProgress:
    """A ``progress(done, total)`` callback drawn by :mod:`unireward_sdk.progress` on stderr (a rich bar on a
    terminal, else lines such as ``judged 48/200 items 24%, 3.10/s``, at most one per tenth or ``every`` s)."""

    def __init__(self, label: str = "judged", every: float = 10.0, stream=None):
        self.label = label
        self.every = every
        self.stream = stream
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        from ..progress import track

        if self.bar is None:
            self.bar = track(self.label, total, noun="items", stream=self.stream, every_s=self.every).__enter__()
        self.bar.update(done, total=total)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
