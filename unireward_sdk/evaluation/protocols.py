"""Which code a figure equals: each benchmark's own scorer, or the UnifiedReward evaluation scripts.

Two protocols score the same verdicts:

- ``benchmark`` (the default): the figures each benchmark's published scorer prints --
  VL-RewardBench ``cal.py`` (unparsed answers and ties left out of numerator and denominator, groups
  and sources, majority voting over k samples), VideoGen-RewardBench through VideoAlign's
  ``calc_accuracy.py`` (tie-calibrated accuracy with ties on the reward difference), GenAI-Bench's
  ``inference.py`` (four-way votes, a failure wrong).
- ``unifiedreward``: the figures the UnifiedReward repository's evaluation scripts compute (plain
  three-way tau and diff, failures wrong, GenAI-Bench ties counted wrong), which the SDK reported
  before the protocol switch existed.

docs/evaluation.md lists, for every figure, the code it equals and where the two protocols differ.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..records import Verdict
from . import labels as L
from . import metrics as M
from .benchmarks import BenchmarkInfo
from .runner import JudgedExample

BENCHMARK, UNIFIEDREWARD = "benchmark", "unifiedreward"
PROTOCOLS: tuple[str, ...] = (BENCHMARK, UNIFIEDREWARD)
DEFAULT_PROTOCOL = BENCHMARK

# The code each protocol's figures equal, per benchmark (named in report.json and report.md).
SCORERS: dict[str, dict[str, str]] = {
    "vl-rewardbench": {
        BENCHMARK: "VL-RewardBench cal.py (vl-rewardbench/VL_RewardBench)",
        UNIFIEDREWARD: "UnifiedReward VL-RewardBench evaluation script",
    },
    "videogen-rewardbench": {
        BENCHMARK: "VideoAlign calc_accuracy.py, as eval_videogen_rewardbench.py calls it (KwaiVGI/VideoAlign)",
        UNIFIEDREWARD: "UnifiedReward VideoGen-RewardBench evaluation script",
    },
    "genai-bench-image": {
        BENCHMARK: "GenAI-Bench inference.py parse_response (TIGER-AI-Lab/GenAI-Bench)",
        UNIFIEDREWARD: "UnifiedReward GenAI-Bench evaluation scripts",
    },
    "genai-bench-video": {
        BENCHMARK: "GenAI-Bench inference.py parse_response (TIGER-AI-Lab/GenAI-Bench)",
        UNIFIEDREWARD: "UnifiedReward GenAI-Bench evaluation scripts",
    },
    "genai-bench-edit": {
        BENCHMARK: "GenAI-Bench inference.py parse_response (TIGER-AI-Lab/GenAI-Bench)",
        # the UnifiedReward scripts have no editing task: its figures are the SDK's tau / diff on the same verdicts
        UNIFIEDREWARD: "the SDK's tau / diff definitions (the UnifiedReward scripts have no image-editing task)",
    },
}
_NO_SCORER = "the SDK's definitions (this format has no scorer of its own)"

# Which protocol each published number was computed with, so a report sets a number only beside
# figures computed the same way. UnifiedReward's own numbers come from its scripts; the baselines it
# quotes for VideoGen-RewardBench (VideoReward) and VL-RewardBench (GPT-4o) come from those
# benchmarks' papers, i.e. their scorers. GenAI-Bench's tau / diff pairs are the UnifiedReward
# paper's figure definitions, not GenAI-Bench's single four-way accuracy.
PUBLISHED_PROTOCOL: dict[tuple[str, str], str] = {
    ("videogen-rewardbench", "VideoReward"): BENCHMARK,
    ("vl-rewardbench", "GPT-4o"): BENCHMARK,
    # GenAI-Bench's own leaderboard: its four-way accuracy
    ("genai-bench-edit", "GPT-4o"): BENCHMARK,
    ("genai-bench-edit", "random"): BENCHMARK,
}

# GenAI-Bench's scorer reads the first [[...]] of a response (inference.py parse_response).
_GENAI_VOTE = re.compile(r"\[\[.*\]\]")
_GENAI_TIE_KIND = {"[[A=B=Good]]": "good", "[[A=B=Bad]]": "bad"}
_SIGN = {"A": 1.0, "B": -1.0, "tie": 0.0}


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}", who="evaluation",
                          fix=f"Use one of {', '.join(PROTOCOLS)}")
    return protocol


def scorer_name(benchmark: str, protocol: str) -> str:
    return SCORERS.get(benchmark, {}).get(protocol, _NO_SCORER)


def published_protocol(benchmark: str, judge: str) -> str:
    return PUBLISHED_PROTOCOL.get((benchmark, judge), UNIFIEDREWARD)


# --- per-verdict readings -----------------------------------------------------------------------------


def reward_margin(verdict: Verdict) -> tuple[float, str] | None:
    """The judge's reward difference A minus B for one usable verdict, and where it came from.

    In order of preference: the two rewards a scalar head records (``provenance.extra["rewards"]``);
    the overall (or summed) per-axis scores of a UnifiedReward 2.0 pairwise answer; P(A) - P(B) from
    the label probabilities; the verdict itself as +1 / -1 / 0. ``None`` for a failed verdict.
    """
    if not verdict.ok:
        return None
    rewards = verdict.provenance.extra.get("rewards")
    if rewards is not None and len(rewards) == 2:
        return float(rewards[0]) - float(rewards[1]), "rewards"
    dims = verdict.dimension_scores
    if dims:
        if "overall" in dims:
            a, b = dims["overall"]
        else:
            a, b = sum(v[0] for v in dims.values()), sum(v[1] for v in dims.values())
        return float(a) - float(b), "axis_scores"
    probs = verdict.probabilities
    if probs and "A" in probs and "B" in probs:
        return float(probs["A"]) - float(probs["B"]), "probabilities"
    return M.verdict_margin(verdict.winner), "verdict"


def dimension_margin(verdict: Verdict, dimension: str) -> float | None:
    """The margin a head gives for one VideoGen-RewardBench dimension (VQ, MQ, TA), when it gives one."""
    if not verdict.ok:
        return None
    for key, (a, b) in verdict.dimension_scores.items():
        if L.VIDEOGEN_AXIS_ALIASES.get(key.lower()) == dimension:
            return float(a) - float(b)
    return None


def genai_tie_kind(verdict: Verdict) -> str | None:
    """"good" / "bad" when a tie verdict is GenAI-Bench's four-way ``[[A=B=Good]]`` / ``[[A=B=Bad]]``.

    Read from ``provenance.extra["tie_kind"]`` when a head sets it, else from the raw answer with the
    scorer's own rule (the first ``[[...]]``). ``None``: a plain tie, or not a tie.
    """
    if not verdict.ok or verdict.winner != "tie":
        return None
    kind = verdict.provenance.extra.get("tie_kind")
    if kind in M.GENAI_TIE_KINDS:
        return kind
    match = _GENAI_VOTE.search(verdict.raw or "")
    return _GENAI_TIE_KIND.get(match.group()) if match else None


# --- figures --------------------------------------------------------------------------------------------


def _ci(stat, n: int, boot: dict[str, Any]) -> list[float] | None:
    ci = M.bootstrap_ci(stat, n, **boot)
    return list(ci) if ci is not None else None


def _ratio(num: np.ndarray, den: np.ndarray) -> float | None:
    d = int(den.sum())
    return float(num.sum()) / d if d else None


def vlrb_figures(judged: Sequence[JudgedExample], boot: dict[str, Any],
                 majority_selection: str = "cal.py") -> dict[str, Any]:
    """VL-RewardBench as cal.py scores it (see :func:`metrics.grouped_agreement`)."""
    preds = [j.prediction for j in judged]
    golds = [j.label for j in judged]
    outcomes = [M.agreement(p, g) for p, g in zip(preds, golds)]
    sources = [L.vlrb_source(j.example.id) for j in judged]
    groups = [L.VLRB_SOURCE_GROUP[s] for s in sources]
    required = list(L.VLRB_CATEGORIES)
    agree = np.asarray([o == M.AGREE for o in outcomes])
    decided = np.asarray([o in (M.AGREE, M.REJECT) for o in outcomes])
    codes = np.asarray([required.index(g) for g in groups], dtype=int)
    n = len(judged)

    def excluded(mask: np.ndarray | None = None) -> dict[str, int]:
        sel = [i for i in range(n) if mask is None or mask[i]]
        return {"failed": sum(preds[i] is None for i in sel), "tie": sum(preds[i] == "tie" for i in sel)}

    def figure(mask: np.ndarray | None, with_ci: bool = True) -> dict[str, Any]:
        a = agree if mask is None else agree[mask]
        d = decided if mask is None else decided[mask]
        return {"value": _ratio(a, d),
                "ci": _ci(lambda idx: _ratio(a[idx], d[idx]), int(a.size), boot) if with_ci else None,
                "correct": int(a.sum()), "n": int(d.sum()), "items": int(a.size), "excluded": excluded(mask)}

    def macro(idx: np.ndarray) -> float | None:
        values = [_ratio(agree[idx][codes[idx] == k], decided[idx][codes[idx] == k]) for k in range(len(required))]
        return float(np.mean(values)) if all(v is not None for v in values) else None

    table = M.grouped_agreement(outcomes, groups, required=required)
    metrics = {"accuracy": figure(None),
               "macro_accuracy": {"value": table["macro"],
                                  "ci": _ci(macro, n, boot) if table["macro"] is not None else None,
                                  "correct": None, "n": int(decided.sum()), "items": n, "excluded": excluded()}}
    categories = {g: figure(codes == k) for k, g in enumerate(required)}
    source_names = list(L.VLRB_SOURCE_GROUP)
    by_source = {s: figure(np.asarray([x == s for x in sources]), with_ci=False) for s in source_names}
    out: dict[str, Any] = {
        "metrics": metrics, "categories": categories, "dimensions": {}, "sources": by_source,
        "notes": ["accuracy = agree / (agree + reject): an answer with no verdict (a failure) or a tie is left out "
                  "of numerator and denominator, overall and per group; each figure shows how many were left out.",
                  "groups and sources from the item id, as cal.py reads it; macro = mean of the three groups "
                  "(n/a when a group has no decided item)."],
    }
    k_max = 1 + min((len(j.extra_samples) for j in judged), default=0)
    if k_max > 1:
        # the judgments of a --samples run, item by item in benchmark order: inference_hf.py's file layout
        out["majority"] = vlrb_majority([j.sample_predictions for j in judged], golds, groups, k_max,
                                        selection=majority_selection)
        out["majority_selection"] = majority_note(majority_selection)
    return out


# cal.py's main: random.seed(1234) once, then for k = 1, 3, 5, 7, 9 in turn it re-reads the records, shuffles
# them with its shuffle_data (each position swapped with a uniformly drawn one, from the one generator) and
# counts the first k records of each item in the shuffled order.
CAL_PY_SEED = 1234
MAJORITY_SELECTIONS: tuple[str, ...] = ("cal.py", "first")


def majority_note(selection: str) -> str:
    if selection == "cal.py":
        return ("k judgments per item chosen as cal.py chooses them: records item by item (k consecutive per item, "
                f"as inference_hf.py writes them), shuffled by cal.py's shuffle_data with random.seed({CAL_PY_SEED}) "
                "once and one shuffle per k in the order 1, 3, 5, ...; the first k of each item in the shuffled order")
    return "the first k judgments of each item in judging order"


def majority_ks(k_max: int) -> list[int]:
    """k = 1, 3, 5, ... up to ``k_max``, and ``k_max`` itself when even (cal.py's list is 1, 3, 5, 7, 9)."""
    return list(range(1, k_max + 1, 2)) + ([k_max] if k_max % 2 == 0 else [])


def cal_py_orders(n_records: int, ks: Sequence[int], seed: int = CAL_PY_SEED) -> dict[int, list[int]]:
    """The record order cal.py counts in for each k: one ``random.Random(seed)`` (what ``random.seed(seed)``
    sets up), and for each k in turn a fresh record list put through cal.py's swap shuffle. For
    ``ks = [1, 3, 5, 7, 9]`` these are cal.py's orders exactly; a shorter prefix of that list gives its prefix."""
    import random

    rng = random.Random(seed)
    orders = {}
    for k in ks:
        order = list(range(n_records))
        for i in range(n_records):
            j = rng.randint(0, n_records - 1)
            order[i], order[j] = order[j], order[i]
        orders[k] = order
    return orders


def _selected(samples: Sequence[Sequence[str | None]], record_items: Sequence[int], order: Sequence[int] | None,
              k: int) -> list[list[str | None]]:
    """Each item's judgments counted at k: its first k records in ``order`` (record positions), or in record order."""
    nth: list[tuple[int, int]] = []  # record position -> (item, its index among that item's judgments)
    seen = [0] * len(samples)
    for item in record_items:
        nth.append((item, seen[item]))
        seen[item] += 1
    picked: list[list[str | None]] = [[] for _ in samples]
    for position in (order if order is not None else range(len(nth))):
        item, index = nth[position]
        if len(picked[item]) < k:
            picked[item].append(samples[item][index])
    return picked


def vlrb_majority(samples: Sequence[Sequence[str | None]], golds: Sequence[str], groups: Sequence[str],
                  k_max: int, *, selection: str = "cal.py",
                  record_items: Sequence[int] | None = None) -> dict[str, Any]:
    """cal.py's majority voting: for k = 1, 3, 5, ... up to ``k_max``, each item's class from k of its
    judgments (a strict majority of agree, reject or unparsed, else other), then the group figures.

    ``samples[i]`` are item i's judgments in record order; ``record_items`` gives the item of every record in
    the order cal.py would read them (default: item by item, ``samples[0]`` first, as inference_hf.py writes
    them). ``selection="cal.py"`` counts the k that cal.py's seeded shuffle picks (:func:`cal_py_orders`);
    ``"first"`` the first k of each item in record order.
    """
    if selection not in MAJORITY_SELECTIONS:
        raise ConfigError(f"unknown majority selection {selection!r}", who="evaluation",
                          fix=f"Use one of {', '.join(MAJORITY_SELECTIONS)}")
    if record_items is None:
        record_items = [i for i, preds in enumerate(samples) for _ in preds]
    ks = majority_ks(k_max)
    orders = cal_py_orders(len(record_items), ks) if selection == "cal.py" else {}
    out = {}
    for k in ks:
        chosen = _selected(samples, record_items, orders.get(k), k)
        outcomes = [M.majority_outcome([M.agreement(p, g) for p in preds]) for preds, g in zip(chosen, golds)]
        t = M.grouped_agreement(outcomes, groups, required=L.VLRB_CATEGORIES)
        out[str(k)] = {"accuracy": t["overall"], "macro_accuracy": t["macro"], "counts": t["counts"],
                       "groups": {g: v["value"] for g, v in t["groups"].items()}}
    return out


def vlrb_majority_from_predictions(paths: Sequence[str | Path], k_max: int | None = None, *,
                                   selection: str = "cal.py") -> dict[str, Any]:
    """cal.py's majority voting from saved judgments: ``predictions.jsonl`` files of VL-RewardBench runs.

    Give one file per sampled run, one file holding k lines per item (cal.py's layout), or the file of
    a ``--samples k`` run (k judgments per line). The records are read in the order given -- the files in
    turn, each line's judgments in turn -- which is the record order cal.py's shuffle starts from
    (``selection="cal.py"``); ``"first"`` takes each item's first k in that order. Each line's verdict is
    mapped back to the published order (``swapped``), so runs with different presentation orders combine.
    ``k_max`` defaults to the fewest judgments any item has; an item with fewer than ``k_max`` is an error.
    """
    import json

    by_id: dict[str, list[tuple[str | None, str]]] = {}
    record_ids: list[str] = []
    for path in paths:
        with Path(path).open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                missing = [k for k in ("id", "gold", "verdict", "swapped") if k not in row]
                if missing:
                    raise ConfigError(f"line {number} lacks {', '.join(missing)}", who=str(path),
                                      fix="Pass predictions.jsonl files written by `unireward eval`")
                gold = L.mirror(row["gold"]) if row["swapped"] else row["gold"]
                judgments = [row] + list(row.get("samples") or [])  # a --samples run saves k per line
                for one in judgments:
                    verdict = one["verdict"] if one.get("status", "ok") == "ok" else None
                    verdict = L.mirror(verdict) if row["swapped"] else verdict
                    by_id.setdefault(str(row["id"]), []).append((verdict, gold))
                    record_ids.append(str(row["id"]))
    if not by_id:
        raise ConfigError("no judgments found", who="predictions", fix="Pass non-empty predictions.jsonl files")
    fewest = min(len(v) for v in by_id.values())
    k_max = fewest if k_max is None else k_max
    if k_max < 1 or k_max > fewest:
        short = next(i for i, v in by_id.items() if len(v) == fewest)
        raise ConfigError(f"k_max {k_max} but item '{short}' has {fewest} judgment(s)", who="predictions",
                          fix="Pass as many runs as the largest k, or a smaller k_max")
    ids = list(by_id)
    index = {i: n for n, i in enumerate(ids)}
    golds = [by_id[i][0][1] for i in ids]
    groups = [L.VLRB_SOURCE_GROUP[L.vlrb_source(i)] for i in ids]
    return vlrb_majority([[p for p, _ in by_id[i]] for i in ids], golds, groups, k_max, selection=selection,
                         record_items=[index[i] for i in record_ids])


def videogen_figures(judged: Sequence[JudgedExample], boot: dict[str, Any]) -> dict[str, Any]:
    """VideoGen-RewardBench as VideoAlign scores it: tie-calibrated w/ Ties, w/o Ties, per dimension."""
    n = len(judged)
    readings = [reward_margin(j.verdict) for j in judged]
    sources = Counter(r[1] for r in readings if r is not None)
    used = [i for i, r in enumerate(readings) if r is not None]
    margins = {i: readings[i][0] for i in used}

    def score(gold_of, margin_of, with_ci: bool = True) -> dict[str, Any]:
        rows = [i for i in range(n) if gold_of(i) is not None]
        found = [margin_of(i) for i in rows]
        ok = np.asarray([x is not None for x in found], dtype=bool)
        h = np.asarray([_SIGN[gold_of(i)] for i in rows], dtype=float)
        m = np.asarray([0.0 if x is None else x for x in found], dtype=float)
        h_used, m_used = h[ok], m[ok]
        cal = M.tie_calibrated_from_signs(h_used, m_used)
        # w/o Ties as VideoAlign computes it; a failed non-tie item stays in the denominator, as wrong
        right, nontie = ok & (h != 0) & (h * m > 0), h != 0

        def cal_stat(idx: np.ndarray) -> float | None:
            c = M.tie_calibrated_from_signs(h_used[idx], m_used[idx])
            return c["value"] if c else None

        used, total = int(ok.sum()), len(rows)
        nocis = dict(boot, n_resamples=boot["n_resamples"] if with_ci else 0)
        return {
            "tau": {"value": cal["value"] if cal else None, "ci": _ci(cal_stat, used, nocis),
                    "correct": None, "n": used, "epsilon": cal["epsilon"] if cal else None,
                    "excluded": {"failed": total - used},
                    "value_failures_counted_wrong": cal["value"] * used / total if cal else None,
                    "order_dependent": len(set(np.abs(m_used).tolist())) < used},
            "diff": {"value": _ratio(right, nontie),
                     "ci": _ci(lambda idx: _ratio(right[idx], nontie[idx]), total, nocis),
                     "correct": int(right.sum()), "n": int(nontie.sum())},
            "n_ties": int((h == 0).sum()),
        }

    overall = score(lambda i: judged[i].label, lambda i: margins.get(i))
    dimensions = {}
    for dim in dict.fromkeys(d for j in judged for d in j.example.dimension_labels):
        own = {i: dimension_margin(judged[i].verdict, dim) for i in range(n)}
        has_own = bool(used) and all(own[i] is not None for i in used)
        fig = score(lambda i, dim=dim: judged[i].dimension_label(dim),
                    (lambda i, own=own: own.get(i)) if has_own else (lambda i: margins.get(i)), with_ci=False)
        dimensions[dim] = {"tau": fig["tau"]["value"], "diff": fig["diff"]["value"], "n": fig["tau"]["n"],
                           "n_ties": fig["n_ties"], "failed": fig["tau"]["excluded"]["failed"],
                           "margin_source": "dimension_scores" if has_own else "overall"}
    return {
        "metrics": {"tau": overall["tau"], "diff": overall["diff"]},
        "categories": {}, "dimensions": dimensions,
        "averages": videogen_averages(overall["tau"]["value"], overall["diff"]["value"], dimensions),
        "margin_sources": dict(sources),
        "notes": ["tau = VideoAlign's tie-calibrated accuracy with ties: the tie threshold on |reward difference| "
                  "that gives the best accuracy (items taken in benchmark order; with repeated margins, as every "
                  "verdict-only head has, the result depends on that order). Failed verdicts are left out of tau "
                  "and counted; value_failures_counted_wrong puts them back as wrong.",
                  "diff = VideoAlign's accuracy without ties on the same margins (a failure is wrong).",
                  "dimensions use a head's own per-dimension scores when it gives them (margin_source "
                  "dimension_scores), else the overall margin."],
    }


VIDEOGEN_LEADERBOARD = "the VideoGen-RewardBench leaderboard (KwaiVGI/VideoGen-RewardBench space)"


def videogen_averages(tau: float | None, diff: float | None, dimensions: dict[str, Any]) -> dict[str, Any]:
    """The leaderboard's three averages: Avg. (w/o Ties) the mean of Overall, VQ, MQ and TA without ties,
    Avg. (w/ Ties) the same four with ties (tie-calibrated), Avg. the mean of those eight figures. ``None``
    (with what is missing) when a column or a figure is absent."""
    with_ties = {"Overall": tau, **{d: dimensions.get(d, {}).get("tau") for d in L.VIDEOGEN_DIMENSIONS[1:]}}
    without = {"Overall": diff, **{d: dimensions.get(d, {}).get("diff") for d in L.VIDEOGEN_DIMENSIONS[1:]}}
    missing = [f"{d} ({kind})" for kind, table in (("w/o Ties", without), ("w/ Ties", with_ties))
               for d, v in table.items() if v is None]

    def mean(values) -> float | None:
        values = list(values)
        return float(np.mean(values)) if all(v is not None for v in values) else None

    return {"avg": mean([*without.values(), *with_ties.values()]), "avg_without_ties": mean(without.values()),
            "avg_with_ties": mean(with_ties.values()), "missing": missing, "source": VIDEOGEN_LEADERBOARD}


def genai_figures(judged: Sequence[JudgedExample], boot: dict[str, Any]) -> dict[str, Any]:
    """GenAI-Bench as its scorer counts: correct / all items, four-way ties where the judge gives them."""
    votes = [j.example.raw_label for j in judged]
    kinds = [genai_tie_kind(j.verdict) for j in judged]
    # the published vote names the published sides: map each verdict back from the order it was shown in
    published = [L.mirror(j.prediction) if j.swapped else j.prediction for j in judged]
    flags = np.asarray([M.genai_vote_correct(p, v, k) for p, v, k in zip(published, votes, kinds)], dtype=bool)
    n = len(judged)
    per_vote = {}
    for vote in dict.fromkeys(votes):
        sub = flags[np.asarray([v == vote for v in votes])]
        per_vote[vote] = {"value": float(sub.mean()), "ci": None, "correct": int(sub.sum()), "n": int(sub.size)}
    return {
        "metrics": {"accuracy": {"value": float(flags.mean()) if n else None,
                                 "ci": _ci(lambda idx: float(flags[idx].mean()), n, boot),
                                 "correct": int(flags.sum()), "n": n,
                                 "failures_counted_wrong": sum(j.prediction is None for j in judged),
                                 "four_way_ties": dict(Counter(k for k in kinds if k is not None))}},
        "categories": {}, "dimensions": {}, "per_vote": per_vote,
        "notes": ["accuracy = right / all items, as GenAI-Bench's scorer counts: a failure is wrong; a plain tie is "
                  "right on tievote and bothbad_vote, [[A=B=Good]] only on tievote, [[A=B=Bad]] only on bothbad_vote.",
                  "The leaderboard (v1) is the test_v1 split; --bothbad exclude is not the scorer's practice."],
    }


def benchmark_figures(judged: Sequence[JudgedExample], info: BenchmarkInfo, boot: dict[str, Any],
                      sdk_figures: dict[str, Any], *, majority_selection: str = "cal.py") -> dict[str, Any]:
    """The ``benchmark`` protocol's figures for ``info``'s benchmark (``sdk_figures`` for a user file)."""
    if info.name == "vl-rewardbench":
        out = vlrb_figures(judged, boot, majority_selection)
    elif info.name == "videogen-rewardbench":
        out = videogen_figures(judged, boot)
    elif info.name.startswith("genai-bench"):
        out = genai_figures(judged, boot)
    else:
        out = {**sdk_figures, "notes": ["A user file has no scorer of its own: the SDK's definitions apply."]}
    return {**out, "protocol": BENCHMARK, "scorer": scorer_name(info.name, BENCHMARK)}


__all__ = [
    "BENCHMARK", "CAL_PY_SEED", "DEFAULT_PROTOCOL", "MAJORITY_SELECTIONS", "PROTOCOLS", "PUBLISHED_PROTOCOL",
    "SCORERS", "UNIFIEDREWARD", "VIDEOGEN_LEADERBOARD", "benchmark_figures", "cal_py_orders", "check_protocol",
    "dimension_margin", "genai_figures", "genai_tie_kind", "majority_ks", "majority_note", "published_protocol",
    "reward_margin", "scorer_name", "videogen_averages", "videogen_figures", "vlrb_figures", "vlrb_majority",
    "vlrb_majority_from_predictions",
]
