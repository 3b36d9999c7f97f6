"""Judge-evaluation metrics as pure functions: predictions and labels in, numbers out.

A *prediction* is ``"A"``, ``"B"``, ``"tie"`` or ``None`` (the judge produced no usable verdict: a
parse failure, a backend or media error). A failure is never right. A metric whose denominator is
empty returns ``None`` rather than a made-up 0 or 1.

Definitions (UnifiedReward's benchmarks, ``shared/docs/UNIFIEDREWARD.md`` section 5):

- **tau** (accuracy with ties): over all items; a tie item is right only if the judge says tie, a
  non-tie item only if the judge picks the preferred side.
- **diff** (accuracy without ties): over the non-tie items only; a judge tie on such an item is wrong.
- **macro accuracy**: the unweighted mean of per-category accuracies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .labels import LABELS, MIRROR

FAILED = "failed"  # the confusion-matrix column for predictions that are None


def correct_flags(predictions: Sequence[str | None], labels: Sequence[str]) -> list[bool]:
    """Per item: did the judge give exactly the gold label? (a failure never does)."""
    _same_length(predictions, labels)
    return [p is not None and p == g for p, g in zip(predictions, labels)]


def _mean(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def accuracy_with_ties(predictions: Sequence[str | None], labels: Sequence[str]) -> float | None:
    """tau: the fraction of all items judged exactly right (ties must be called ties)."""
    return _mean(correct_flags(predictions, labels))


def accuracy_without_ties(predictions: Sequence[str | None], labels: Sequence[str]) -> float | None:
    """diff: the fraction of non-tie items whose preferred side the judge picked (a judge tie is wrong)."""
    _same_length(predictions, labels)
    return _mean([p == g for p, g in zip(predictions, labels) if g != "tie"])


def accuracy_ties_counted_wrong(predictions: Sequence[str | None], labels: Sequence[str]) -> float | None:
    """Right non-tie items over *all* items: every tie item counts as wrong whatever the judge says.

    This is what the UnifiedReward GenAI-Bench scripts report as accuracy with ties (they skip tie and
    both-bad items without judging them but keep them in the denominator). Only for comparing with
    numbers produced that way; :func:`accuracy_with_ties` is the definition.
    """
    _same_length(predictions, labels)
    if not labels:
        return None
    return sum(p == g for p, g in zip(predictions, labels) if g != "tie") / len(labels)


def accuracy(predictions: Sequence[str | None], labels: Sequence[str]) -> float | None:
    """Plain accuracy (VL-RewardBench's overall accuracy; identical to tau when there are no ties)."""
    return accuracy_with_ties(predictions, labels)


def category_accuracy(
    predictions: Sequence[str | None], labels: Sequence[str], categories: Sequence[str]
) -> dict[str, float]:
    """Accuracy per category, categories in first-seen order."""
    _same_length(predictions, labels, categories)
    flags: dict[str, list[bool]] = {}
    for ok, cat in zip(correct_flags(predictions, labels), categories):
        flags.setdefault(cat, []).append(ok)
    return {cat: sum(v) / len(v) for cat, v in flags.items()}


def macro_accuracy(
    predictions: Sequence[str | None],
    labels: Sequence[str],
    categories: Sequence[str],
    required: Sequence[str] | None = None,
) -> float | None:
    """The unweighted mean of per-category accuracies.

    With ``required`` (e.g. VL-RewardBench's general / hallucination / reasoning) the mean is over
    exactly those categories and is ``None`` when one of them has no items, since a macro mean over a
    subset would not be the benchmark's number.
    """
    per = category_accuracy(predictions, labels, categories)
    keys = list(required) if required is not None else list(per)
    if not keys or any(k not in per for k in keys):
        return None
    return sum(per[k] for k in keys) / len(keys)


def failure_count(predictions: Sequence[str | None]) -> int:
    return sum(p is None for p in predictions)


def confusion_matrix(predictions: Sequence[str | None], labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """Counts of verdicts (columns A, B, tie, failed) per gold label (rows A, B, tie, those present)."""
    _same_length(predictions, labels)
    rows = [g for g in LABELS if g in set(labels)]
    table = {g: {c: 0 for c in (*LABELS, FAILED)} for g in rows}
    for p, g in zip(predictions, labels):
        table[g][FAILED if p is None else p] += 1
    return table


def a_preference_rate(predictions: Sequence[str | None]) -> float | None:
    """Among decisive verdicts (A or B), the fraction that pick A.

    With presentation order randomised, an unbiased judge is near the gold A-rate (about 0.5); a
    judge that prefers the first position is above it.
    """
    decisive = [p for p in predictions if p in ("A", "B")]
    return _mean([p == "A" for p in decisive])


def tie_rate(predictions: Sequence[str | None]) -> float | None:
    """Among usable verdicts, the fraction that are ties."""
    usable = [p for p in predictions if p is not None]
    return _mean([p == "tie" for p in usable])


def swap_consistency(forward: Sequence[str | None], swapped: Sequence[str | None]) -> dict[str, float | int | None]:
    """How often a verdict survives exchanging A and B.

    ``forward[i]`` judges an item as presented, ``swapped[i]`` the same item with A and B exchanged.
    A pair is consistent when the swapped verdict is the mirror of the forward one (A <-> B, tie
    stays tie). ``rate`` is over pairs where both verdicts are usable; ``rate_failures_inconsistent``
    also counts pairs with a failure, as inconsistent.
    """
    _same_length(forward, swapped)
    both_ok = [(f, s) for f, s in zip(forward, swapped) if f is not None and s is not None]
    consistent = sum(MIRROR[f] == s for f, s in both_ok)
    n = len(forward)
    return {
        "rate": consistent / len(both_ok) if both_ok else None,
        "rate_failures_inconsistent": consistent / n if n else None,
        "consistent": consistent,
        "pairs_usable": len(both_ok),
        "pairs": n,
    }


# --- bootstrap ------------------------------------------------------------------------------------


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float | None],
    n: int,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic`` over ``n`` items.

    ``statistic`` receives an index array (a resample of ``range(n)`` with replacement) and returns the
    figure for those items, or ``None`` when undefined on that resample (such resamples are skipped).
    The same ``seed`` gives the same interval. ``None`` when ``n == 0`` or no resample is defined.
    """
    if n <= 0 or n_resamples <= 0:
        return None
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_resamples, n))
    values = [v for v in (statistic(row) for row in draws) if v is not None and not math.isnan(v)]
    if not values:
        return None
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(np.asarray(values, dtype=float), [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_metric(
    metric: Callable[..., float | None],
    columns: Sequence[Sequence],
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float] | None:
    """Bootstrap interval of ``metric(*columns)``, resampling rows of the aligned ``columns``."""
    arrays = [list(c) for c in columns]
    n = len(arrays[0]) if arrays else 0

    def stat(idx: np.ndarray) -> float | None:
        return metric(*([col[i] for i in idx] for col in arrays))

    return bootstrap_ci(stat, n, n_resamples=n_resamples, seed=seed, confidence=confidence)


# --- the benchmarks' own scorers ---------------------------------------------------------------------
#
# These reproduce how each benchmark's published code counts, so that a figure reported under the
# benchmark's name is the one its scorer would print on the same verdicts (docs/evaluation.md lists the
# code each one follows).

AGREE, REJECT, UNPARSED, OTHER = "agree", "reject", "unparsed", "other"
OUTCOMES: tuple[str, ...] = (AGREE, REJECT, UNPARSED, OTHER)


def agreement(prediction: str | None, label: str) -> str:
    """One verdict as VL-RewardBench's ``cal.py`` files it: agree, reject, or unparsed.

    Its parser only recognises "Answer N is better", so a failure and a tie statement are both
    *unparsed* (neither agree nor reject); a gold tie cannot occur in that benchmark.
    """
    if prediction not in ("A", "B") or label not in ("A", "B"):
        return UNPARSED
    return AGREE if prediction == label else REJECT


def majority_outcome(outcomes: Sequence[str]) -> str:
    """The item's class from k sampled judgments, as ``cal.py``'s ``classify``: a strict majority of
    all k (unparsed included) makes it agree, reject or unparsed; anything else (a split vote) is other."""
    k = len(outcomes)
    if k == 0:
        raise ValueError("majority_outcome needs at least one judgment")
    for outcome in (AGREE, REJECT, UNPARSED):
        if sum(o == outcome for o in outcomes) > k / 2:
            return outcome
    return OTHER


def outcome_counts(outcomes: Sequence[str]) -> dict[str, int]:
    return {o: sum(x == o for x in outcomes) for o in OUTCOMES}


def agreement_accuracy(outcomes: Sequence[str]) -> float | None:
    """agree / (agree + reject): unparsed and split items are left out of numerator and denominator."""
    agree = sum(o == AGREE for o in outcomes)
    decided = agree + sum(o == REJECT for o in outcomes)
    return agree / decided if decided else None


def grouped_agreement(outcomes: Sequence[str], groups: Sequence[str],
                      required: Sequence[str] | None = None) -> dict[str, object]:
    """VL-RewardBench's figures from per-item outcomes: overall, per group, and the macro mean.

    ``overall`` is agree / (agree + reject) over every item; each group's accuracy likewise over its
    items; ``macro`` the unweighted mean of the ``required`` groups' accuracies (all groups present
    when not given). A group with no agree or reject item has accuracy ``None`` (``cal.py`` divides by
    zero there) and then the macro mean is ``None`` too, never a mean over fewer groups.
    """
    _same_length(outcomes, groups)
    by_group: dict[str, list[str]] = {g: [] for g in (required or ())}
    for o, g in zip(outcomes, groups):
        by_group.setdefault(g, []).append(o)
    table = {g: {"value": agreement_accuracy(v), **outcome_counts(v), "n": len(v)} for g, v in by_group.items()}
    keys = list(required) if required is not None else list(table)
    values = [table[g]["value"] for g in keys]
    macro = sum(values) / len(values) if values and all(v is not None for v in values) else None
    return {"overall": agreement_accuracy(outcomes), "counts": outcome_counts(outcomes), "n": len(outcomes),
            "groups": table, "macro": macro}


_SIGN = {"A": 1, "B": -1, "tie": 0}


def verdict_margin(prediction: str) -> float:
    """A verdict as a reward difference: A +1, B -1, tie 0 (for heads that give nothing finer)."""
    return float(_SIGN[prediction])


def tie_calibrated_accuracy(labels: Sequence[str], margins: Sequence[float]) -> dict[str, float] | None:
    """Accuracy with ties, tie-calibrated, as VideoAlign's ``calc_accuracy_with_ties`` computes it.

    ``margins[i]`` is the judge's reward difference A minus B for item i. The pairs are taken in order
    of ``|margin|`` (a stable sort, so equal values keep their input order) and, one pair at a time,
    each becomes a judge tie (its |margin| is the threshold); the accuracy -- (concordant decisive
    pairs + pairs both human and judge call a tie) / all -- is evaluated after each step and the
    best kept. Every pair before the current one is a judge tie and every later one is not, *even
    when it has the same |margin|*, which is why the result depends on the input order when margins
    repeat (always so for verdict-only heads, whose margins are +1, -1, 0). At least one pair is a
    judge tie in every state evaluated. Returns ``{"value", "epsilon"}``, or ``None`` for no items.
    """
    _same_length(labels, margins)
    return tie_calibrated_from_signs(np.asarray([_SIGN[g] for g in labels], dtype=float),
                                     np.asarray(margins, dtype=float))


def tie_calibrated_from_signs(h: np.ndarray, m: np.ndarray) -> dict[str, float] | None:
    """:func:`tie_calibrated_accuracy` on arrays: ``h`` the human labels as +1 (A) / -1 (B) / 0 (tie)."""
    if len(h) == 0:
        return None
    order = np.argsort(np.abs(m), kind="stable")
    h, m = h[order], m[order]
    tie_before = np.cumsum(h == 0)  # human ties among the pairs made judge ties (steps 0..i)
    concordant = (h != 0) & (h * m > 0)
    concordant_after = np.concatenate([np.cumsum(concordant[::-1])[::-1][1:], [0]])  # pairs i+1.. kept decisive
    acc = (tie_before + concordant_after) / len(h)
    best = int(np.argmax(acc))  # the first maximum, as the scorer's strict '>' update keeps it
    return {"value": float(acc[best]), "epsilon": float(abs(m[best]))}


def accuracy_without_ties_from_margins(labels: Sequence[str], margins: Sequence[float]) -> float | None:
    """VideoAlign's ``calc_accuracy_without_ties``: over human non-tie pairs, the share whose margin has
    the human's sign (a zero margin is wrong)."""
    _same_length(labels, margins)
    decisive = [(_SIGN[g], m) for g, m in zip(labels, margins) if g != "tie"]
    return _mean([h * m > 0 for h, m in decisive])


GENAI_TIE_KINDS: tuple[str, ...] = ("good", "bad")


def genai_vote_correct(prediction: str | None, vote_type: str, tie_kind: str | None = None) -> bool:
    """Whether GenAI-Bench's scorer (``parse_response`` of its ``inference.py``) counts a verdict right.

    ``vote_type`` is the published human vote. A plain tie (``[[A=B]]``, ``tie_kind=None``) is right on
    both tievote and bothbad_vote; a four-way tie is right only on its own vote (``good``: tievote,
    ``bad``: bothbad_vote). A failure is wrong.
    """
    if prediction is None:
        return False
    if tie_kind is not None and tie_kind not in GENAI_TIE_KINDS:
        raise ValueError(f"tie_kind must be one of {GENAI_TIE_KINDS} or None, got {tie_kind!r}")
    if vote_type == "leftvote":
        return prediction == "A"
    if vote_type == "rightvote":
        return prediction == "B"
    if vote_type == "tievote":
        return prediction == "tie" and tie_kind in (None, "good")
    if vote_type == "bothbad_vote":
        return prediction == "tie" and tie_kind in (None, "bad")
    raise ValueError(f"unknown GenAI-Bench vote_type {vote_type!r}")


# --- generic evaluators for user data ---------------------------------------------------------------


def pairwise_accuracy_from_scores(
    chosen: Sequence[float | None], rejected: Sequence[float | None], *, ties_count: float = 0.0
) -> float | None:
    """Fraction of pairs whose chosen item scored higher than the rejected one.

    A missing score (a failure) is wrong; an exact tie earns ``ties_count`` (0 by default, 0.5 for
    the "half credit" convention).
    """
    _same_length(chosen, rejected)
    if not chosen:
        return None
    total = 0.0
    for c, r in zip(chosen, rejected):
        if c is None or r is None:
            continue
        total += 1.0 if c > r else (ties_count if c == r else 0.0)
    return total / len(chosen)


def rankdata(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (what Spearman's coefficient needs)."""
    x = np.asarray(values, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's correlation coefficient; ``None`` for fewer than 2 points or a constant input."""
    _same_length(x, y)
    if len(x) < 2:
        return None
    a = np.asarray(x, dtype=float) - np.mean(x)
    b = np.asarray(y, dtype=float) - np.mean(y)
    denom = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    return float(np.dot(a, b) / denom) if denom > 0 else None


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation: Pearson's coefficient of the average ranks."""
    _same_length(x, y)
    if len(x) < 2:
        return None
    return pearson(rankdata(x), rankdata(y))


def paired_scores(gold: Sequence[float], predicted: Sequence[float | None]) -> tuple[list[float], list[float]]:
    """The (gold, predicted) pairs where the judge produced a score (failures are reported separately)."""
    _same_length(gold, predicted)
    kept = [(g, p) for g, p in zip(gold, predicted) if p is not None]
    return [g for g, _ in kept], [p for _, p in kept]


def _same_length(*columns: Sequence) -> None:
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        raise ValueError(f"columns differ in length: {[len(c) for c in columns]}")


def as_percent(value: float | None, digits: int = 1) -> str:
    """'54.8' for 0.548; an em dash for an undefined figure."""
    return "—" if value is None else f"{100.0 * value:.{digits}f}"


__all__ = [
    "AGREE", "FAILED", "OTHER", "OUTCOMES", "REJECT", "UNPARSED", "a_preference_rate", "accuracy",
    "accuracy_ties_counted_wrong", "accuracy_with_ties", "accuracy_without_ties",
    "accuracy_without_ties_from_margins", "agreement", "agreement_accuracy", "as_percent", "bootstrap_ci",
    "bootstrap_metric", "category_accuracy", "confusion_matrix", "correct_flags", "failure_count",
    "genai_vote_correct", "grouped_agreement", "macro_accuracy", "majority_outcome", "outcome_counts",
    "paired_scores", "pairwise_accuracy_from_scores", "pearson", "rankdata", "spearman", "swap_consistency",
    "tie_calibrated_accuracy", "tie_calibrated_from_signs", "tie_rate", "verdict_margin"
]
