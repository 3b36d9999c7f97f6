"""The data-selection strategies of the paper's ablation, as filter stages for :class:`~unireward_sdk.pairs.PairJob`.

- ``two_stage``: the SDK's ``pair_ranking`` then ``point_sifting`` filters (the method);
- ``pair_ranking_only``: ``pair_ranking``, then one of the decided pairs, drawn at random, as it was judged
  (its winner chosen, its loser rejected): no pointwise scores;
- ``pointwise_only``: every candidate scored pointwise, best against worst (``point_sifting`` over all
  candidates, with the paper's drop rule: the best must score strictly higher than the worst);
- ``random``: two candidates drawn at random, one of them called chosen at random: no judge at all.

The stages below only add what the SDK's filters do not do; random draws are seeded per prompt, so every
strategy sees the same candidates and the same run gives the same pairs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import attrs

from unireward_sdk.interfaces import CandidateGroup
from unireward_sdk.records import DroppedPrompt, PreferencePair, Provenance

STRATEGIES = ("random", "pointwise_only", "pair_ranking_only", "two_stage")


def _rng(seed: int, group: CandidateGroup) -> random.Random:
    return random.Random(f"{seed}/{group.prompt_id}")


def _pair(group: CandidateGroup, chosen: int, rejected: int, plugin: str, **extra: Any) -> PreferencePair:
    return PreferencePair(
        prompt_id=group.prompt_id, task=group.task, chosen=group.candidates[chosen],
        rejected=group.candidates[rejected], prompt=group.prompt, question=group.question, context=group.context,
        verdicts=group.verdicts,
        provenance=Provenance(plugin=plugin, extra={"chosen_index": chosen, "rejected_index": rejected, **extra}),
    )


class _OpenGroupsStage:
    """A filter stage that settles each prompt still open (no pair yet, not dropped) and passes the rest on."""

    name = "testbed_stage"

    def apply(self, groups: Sequence[CandidateGroup], judge: Any) -> list[CandidateGroup]:
        return [group if group.pair is not None or group.dropped is not None else self.settle(group)
                for group in groups]

    def settle(self, group: CandidateGroup) -> CandidateGroup:
        raise NotImplementedError


class RandomPair(_OpenGroupsStage):
    """Two distinct candidates at random, chosen and rejected at random (the no-judge baseline)."""

    name = "testbed_random_pair"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def settle(self, group: CandidateGroup) -> CandidateGroup:
        if len(group.candidates) < 2:
            return attrs.evolve(group, dropped=DroppedPrompt(group.prompt_id, "too_few_candidates"))
        a, b = _rng(self.seed, group).sample(range(len(group.candidates)), 2)
        return attrs.evolve(group, pair=_pair(group, a, b, self.name))


class AllCandidates(_OpenGroupsStage):
    """Put every candidate in both the chosen and the rejected list, so ``point_sifting`` pairs the best
    against the worst by pointwise score alone."""

    name = "testbed_all_candidates"

    def settle(self, group: CandidateGroup) -> CandidateGroup:
        everyone = list(range(len(group.candidates)))
        meta = {**group.meta, "ranking": {"strategy": "none (pointwise only)", "chosen": everyone,
                                          "rejected": everyone, "decisions": []}}
        return attrs.evolve(group, chosen=group.candidates, rejected=group.candidates, meta=meta)


class RankedPairOnly(_OpenGroupsStage):
    """After ``pair_ranking``: one decided pair at random, as the pairwise judge decided it."""

    name = "testbed_ranked_pair_only"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def settle(self, group: CandidateGroup) -> CandidateGroup:
        decided = [d for d in group.meta.get("ranking", {}).get("decisions", []) if d["outcome"] == "win"]
        if not decided:
            return attrs.evolve(group, dropped=DroppedPrompt(group.prompt_id, "no_decided_pairs",
                                                             verdicts=group.verdicts))
        d = _rng(self.seed, group).choice(decided)
        return attrs.evolve(group, pair=_pair(group, d["winner"], d["loser"], self.name))


def stages(strategy: str, *, seed: int = 0, registry: Any = None) -> list[Any]:
    """The filter stages of one selection strategy (SDK filters from the registry, plus the above)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown selection strategy {strategy!r}; choose one of {STRATEGIES}")
    if registry is None:
        from unireward_sdk.registry import get_registry

        registry = get_registry()
    if strategy == "random":
        return [RandomPair(seed)]
    if strategy == "pointwise_only":
        return [AllCandidates(), registry.filter("point_sifting")]
    ranking = registry.filter("pair_ranking", strategy="disjoint", on_tie="drop", on_failure="swap")
    if strategy == "pair_ranking_only":
        return [ranking, RankedPairOnly(seed)]
    return [ranking, registry.filter("point_sifting")]
