"""The ``swap_consistency`` filter: re-judge each final pair in both orders and keep it only when the judge
prefers the chosen candidate in both (a guard against position bias). One batched pairwise call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from unireward_sdk import CandidateGroup, DroppedPrompt, FilterSpec, hookimpl
from unireward_sdk.pairs.algorithm import DropReason
from unireward_sdk.pairs.stages import judge_pairs, pair_item


class SwapConsistency:
    """Both (chosen, rejected) and (rejected, chosen) must name the chosen candidate; anything else drops."""

    name = "swap_consistency"

    def apply(self, groups: Sequence[CandidateGroup], judge: Any) -> list[CandidateGroup]:
        items, where = [], {}
        for g, group in enumerate(groups):
            if group.pair is None or group.dropped is not None:
                continue
            c = group.candidates.index(group.pair.chosen)
            r = group.candidates.index(group.pair.rejected)
            where[g] = len(items)
            items += [pair_item(group, c, r, "check"), pair_item(group, r, c, "check")]
        verdicts = judge_pairs(judge, items)
        out = []
        for g, group in enumerate(groups):
            if g not in where:
                out.append(group)
                continue
            forward, backward = verdicts[where[g]], verdicts[where[g] + 1]
            all_verdicts = (*group.verdicts, forward, backward)
            agree = forward.ok and backward.ok and forward.winner == "A" and backward.winner == "B"
            if agree:
                out.append(attrs.evolve(group, verdicts=all_verdicts,
                                        pair=attrs.evolve(group.pair, verdicts=all_verdicts)))
                continue
            said = [v.winner if v.ok else f"failure ({v.status})" for v in (forward, backward)]
            out.append(attrs.evolve(group, verdicts=all_verdicts, pair=None, dropped=DroppedPrompt(
                group.prompt_id, DropReason.SWAP_INCONSISTENT,
                f"chosen shown first: {said[0]}; chosen shown second: {said[1]} (want A then B)",
                verdicts=all_verdicts, scores=group.scores)))
        return out


@hookimpl
def unireward_register_filters():
    yield FilterSpec(name="swap_consistency", factory=SwapConsistency, needs=("pairwise",), options=(),
                     summary="keep a pair only when the judge prefers the chosen candidate in both orders")
