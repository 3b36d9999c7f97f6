"""Building preference pairs in the testbed through the SDK's pair pipeline (:class:`~unireward_sdk.pairs.PairJob`).

A policy's candidates are sampled once per seed (the SDK's :class:`~unireward_sdk.pairs.SamplerSource`) and
kept by :class:`SharedPool`, so that every selection strategy of the ablation chooses among exactly the
same candidates; each strategy then runs as its own PairJob with its own filter stages
(:mod:`.selection`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from unireward_sdk.interfaces import CandidateGroup
from unireward_sdk.records import PreferencePair

from .selection import stages

# how a pair stands against the truth on one criterion (an answer's grade, one attribute of a render), by
# (chosen side right, rejected side right); only "chosen_right" teaches the policy that criterion
_PAIR_KIND = {(True, False): "chosen_right", (False, True): "rejected_right", (True, True): "both_right",
              (False, False): "both_wrong"}
PAIR_KINDS = tuple(_PAIR_KIND.values())


def pair_kind(chosen_right: bool, rejected_right: bool) -> str:
    return _PAIR_KIND[(bool(chosen_right), bool(rejected_right))]


class SharedPool:
    """A pair source that samples each batch once and hands out the same candidate groups afterwards."""

    def __init__(self, source: Any):
        self.source = source
        self.fingerprint = source.fingerprint
        self._groups: dict[tuple[int, int], list[CandidateGroup]] = {}

    def __len__(self) -> int:
        return len(self.source)

    def groups(self, indices: range, batch_index: int) -> list[CandidateGroup]:
        key = (indices.start, indices.stop)
        if key not in self._groups:
            self._groups[key] = list(self.source.groups(indices, batch_index))
        return list(self._groups[key])

    def all_groups(self) -> list[CandidateGroup]:
        return [g for _, groups in sorted(self._groups.items()) for g in groups]


def build_pairs(task: str, pool: SharedPool, judge: Any, strategy: str, out_dir: str | Path, *, seed: int,
                registry: Any, batch_size: int = 16) -> tuple[list[PreferencePair], dict[str, Any]]:
    """Run one selection strategy over the pool as a PairJob; returns the pairs and the job's summary."""
    from unireward_sdk.pairs import PairDataset, PairJob, PairJobConfig

    out_dir = Path(out_dir)
    config = PairJobConfig(manifest=str(out_dir / "prompts.jsonl"), output=str(out_dir), task=task,
                           model=str(getattr(getattr(judge, "backend", None), "checkpoint", "testbed-judge")),
                           seed=seed, batch_size=batch_size, media="reference", progress=False,
                           allow_outside=True)
    job = PairJob(config, judge=judge, source=pool, registry=registry,
                  filters=stages(strategy, seed=seed, registry=registry))
    summary = job.run()
    return PairDataset(out_dir).pairs(), summary


def judge_answer_counts(summary: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """From a pair job's summary: per mode, how many answers the judge gave and how many of them could not be
    read (unparsed, ambiguous, a score out of range); other failures (a backend or media error) are not
    the judge's answers. A strategy without a judge gave none."""
    failures = summary.get("parse_failures") or {}
    return {mode: {"answers": int(summary.get(total) or 0),
                   "unparsed": sum(n for status, n in (failures.get(mode) or {}).items() if status in UNREAD)}
            for mode, total in (("pairwise", "verdicts"), ("pointwise", "scores"))}


UNREAD = ("unparsed", "ambiguous", "out_of_range")  # the statuses of an answer the parser could not read


def pair_agreement(pairs: Sequence[PreferencePair], quality: Callable[[PreferencePair, str], float]) -> dict:
    """How often the oracle agrees with a pair: chosen truly better, equal, or worse; ``flags``: per pair, 1
    when the chosen side is truly better (the pair's precision)."""
    flags = []
    equal = worse = 0
    for pair in pairs:
        qc, qr = quality(pair, "chosen"), quality(pair, "rejected")
        flags.append(int(qc > qr))
        equal += qc == qr
        worse += qc < qr
    n = len(pairs)
    return {"pairs": n, "chosen_better": sum(flags), "equal": equal, "chosen_worse": worse,
            "precision": sum(flags) / n if n else None, "flags": flags}
