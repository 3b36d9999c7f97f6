"""Every figure of a judge evaluation, as one JSON-ready dict, computed from judged examples.

Two protocols score the same verdicts (see :mod:`.protocols`): ``benchmark``, each benchmark's own
scorer, and ``unifiedreward``, the UnifiedReward evaluation scripts. Both sets are in ``protocols``;
``metrics``, ``categories`` and ``dimensions`` at the top are the chosen protocol's.

Figures are fractions in [0, 1] (reports print percentages). Each headline figure carries its
bootstrap interval: items are resampled with replacement ``n_bootstrap`` times from one seeded RNG
per figure, so the same seed gives the same intervals; resamples on which a figure is undefined (no
non-tie item, a missing category) are skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import metrics as M
from . import protocols as P
from .benchmarks import BenchmarkInfo
from .runner import JudgedExample


def _figure(value: float | None, ci: tuple[float, float] | None, correct: int | None, n: int) -> dict[str, Any]:
    return {"value": value, "ci": list(ci) if ci is not None else None, "correct": correct, "n": n}


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def summarize(
    judged: Sequence[JudgedExample],
    info: BenchmarkInfo,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    protocol: str = P.DEFAULT_PROTOCOL,
    majority_selection: str = "cal.py",
) -> dict[str, Any]:
    """The report's figures: headline metrics with intervals, categories, labels, failures, bias, confusion.

    ``protocol`` picks which figures are the headline (``metrics``, ``categories``, ``dimensions``):
    ``"benchmark"`` (the benchmark's own scorer) or ``"unifiedreward"`` (the UnifiedReward scripts).
    ``majority_selection``: which k samples VL-RewardBench's majority voting counts (``"cal.py"``: cal.py's
    seeded shuffle; ``"first"``: the first k in judging order).
    """
    P.check_protocol(protocol)
    preds = [j.prediction for j in judged]
    golds = [j.label for j in judged]
    flags = np.asarray(M.correct_flags(preds, golds), dtype=bool)
    nontie = np.asarray([g != "tie" for g in golds], dtype=bool)
    n = len(judged)
    boot = dict(n_resamples=n_bootstrap, seed=seed, confidence=confidence)

    def ci(stat) -> tuple[float, float] | None:
        return M.bootstrap_ci(stat, n, **boot)

    figures: dict[str, Any] = {}
    if info.kind == "ties":
        figures["tau"] = _figure(M.accuracy_with_ties(preds, golds),
                                 ci(lambda idx: _mean_or_none(flags[idx])), int(flags.sum()), n)
        figures["diff"] = _figure(M.accuracy_without_ties(preds, golds),
                                  ci(lambda idx: _mean_or_none(flags[idx][nontie[idx]])),
                                  int(flags[nontie].sum()), int(nontie.sum()))
        if info.name.startswith("genai-bench"):
            figures["tau_ties_counted_wrong"] = _figure(
                M.accuracy_ties_counted_wrong(preds, golds),
                ci(lambda idx: _mean_or_none(flags[idx] & nontie[idx])), int(flags[nontie].sum()), n)
    else:
        figures["accuracy"] = _figure(M.accuracy(preds, golds),
                                      ci(lambda idx: _mean_or_none(flags[idx])), int(flags.sum()), n)

    categories = [j.example.category for j in judged]
    per_category: dict[str, Any] = {}
    if any(c is not None for c in categories):
        cats = [c if c is not None else "(none)" for c in categories]
        order = list(info.required_categories) + [c for c in dict.fromkeys(cats) if c not in info.required_categories]
        codes = np.asarray([order.index(c) for c in cats])
        for k, cat in enumerate(order):
            mask = codes == k
            sub = flags[mask]
            per_category[cat] = _figure(
                float(sub.mean()) if sub.size else None,
                M.bootstrap_ci(lambda idx, sub=sub: _mean_or_none(sub[idx]), int(sub.size), **boot),
                int(sub.sum()), int(sub.size))
        required = list(info.required_categories) or [c for c in order if (codes == order.index(c)).any()]

        def macro(idx: np.ndarray) -> float | None:
            accs = []
            for cat in required:
                sel = flags[idx][codes[idx] == order.index(cat)]
                if not sel.size:
                    return None
                accs.append(sel.mean())
            return float(np.mean(accs)) if accs else None

        macro_value = M.macro_accuracy(preds, golds, cats, required=required)
        figures["macro_accuracy"] = _figure(macro_value, ci(macro) if macro_value is not None else None, None, n)

    per_label: dict[str, Any] = {}
    for raw in dict.fromkeys(j.example.raw_label for j in judged):
        sub = flags[np.asarray([j.example.raw_label == raw for j in judged])]
        per_label[raw] = _figure(float(sub.mean()), None, int(sub.sum()), int(sub.size))

    dimensions: dict[str, Any] = {}
    for dim in dict.fromkeys(d for j in judged for d in j.example.dimension_labels):
        pairs = [(j.prediction, j.dimension_label(dim)) for j in judged if j.dimension_label(dim) is not None]
        p, g = [x for x, _ in pairs], [y for _, y in pairs]
        dimensions[dim] = {"tau": M.accuracy_with_ties(p, g), "diff": M.accuracy_without_ties(p, g),
                           "n": len(g), "n_ties": sum(x == "tie" for x in g)}

    failed = [j for j in judged if j.prediction is None]
    failures = {
        "count": len(failed),
        "rate": len(failed) / n if n else None,
        "by_status": dict(Counter(j.verdict.status for j in failed)),
        "examples": [{"id": j.example.id, "status": j.verdict.status, "error": j.verdict.error,
                      "raw": (j.verdict.raw or "")[:300]} for j in failed[:5]],
    }

    decisive_gold = [g for g in golds if g in ("A", "B")]
    bias: dict[str, Any] = {
        "a_preference_rate": M.a_preference_rate(preds),
        "gold_a_rate": (sum(g == "A" for g in decisive_gold) / len(decisive_gold)) if decisive_gold else None,
        "tie_rate": M.tie_rate(preds),
        "swapped_presentations": sum(j.swapped for j in judged),
        "swap_consistency": None,
        "swap_consistency_source": None,
    }
    if any(j.reverse_verdict is not None for j in judged):
        reverse = [j.reverse_verdict.winner if (j.reverse_verdict is not None and j.reverse_verdict.ok) else None
                   for j in judged]
        sc = M.swap_consistency(preds, reverse)
        bias.update(swap_consistency=sc["rate"], swap_consistency_source="both_orders",
                    swap_consistency_detail=sc,
                    reverse_order_tau=M.accuracy_with_ties([j.reverse_prediction for j in judged], golds))
    else:
        # a symmetric head (unireward_sdk.judging.Symmetric) records each order's own winner
        orders = [j.verdict.provenance.extra.get("order_winners") for j in judged]
        if any(o is not None for o in orders):
            pairs = [tuple(o) for o in orders if o is not None]
            sc = M.swap_consistency([f for f, _ in pairs], [s for _, s in pairs])
            positional = [w for pair in pairs for w in pair]
            bias.update(swap_consistency=sc["rate"], swap_consistency_source="symmetric_head",
                        swap_consistency_detail=sc,
                        a_preference_rate_per_order=M.a_preference_rate(positional))
        consistencies = [j.verdict.consistency for j in judged if j.verdict.consistency is not None]
        if consistencies:
            # the head's own agreement score (1 - total variation of the two orders' distributions)
            bias["mean_consistency"] = float(np.mean(consistencies))
            if bias["swap_consistency_source"] is None:
                bias.update(swap_consistency=bias["mean_consistency"], swap_consistency_source="verdict.consistency")

    unifiedreward = {"protocol": P.UNIFIEDREWARD, "scorer": P.scorer_name(info.name, P.UNIFIEDREWARD),
                     "metrics": figures, "categories": per_category, "dimensions": dimensions, "per_label": per_label}
    benchmark = P.benchmark_figures(judged, info, boot, unifiedreward, majority_selection=majority_selection)
    sets = {P.BENCHMARK: benchmark, P.UNIFIEDREWARD: unifiedreward}
    chosen = sets[protocol]
    return {
        "n": n,
        "protocol": protocol,
        "scorer": chosen["scorer"],
        "gold_counts": dict(Counter(golds)),
        "published_label_counts": dict(Counter(j.example.raw_label for j in judged)),
        "metrics": chosen["metrics"],
        "categories": chosen["categories"],
        # per published label, scored as the chosen protocol scores (GenAI-Bench: four-way per vote)
        "per_label": chosen.get("per_vote", per_label),
        "dimensions": chosen["dimensions"],
        "protocols": sets,
        "samples": 1 + min((len(j.extra_samples) for j in judged), default=0),
        "failures": failures,
        "position_bias": bias,
        "confusion": M.confusion_matrix(preds, golds),
        "bootstrap": {"n_resamples": n_bootstrap, "seed": seed, "confidence": confidence,
                      "method": "percentile, items resampled with replacement"},
    }
