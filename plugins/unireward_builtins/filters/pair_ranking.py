"""The ``pair_ranking`` filter: the paper's first stage. Judge scheduled pairs of each prompt's candidates
and split them into a chosen list (winners) and a rejected list (losers).

Judge calls are batched across every prompt of the batch: one pairwise call for all scheduled pairs, and one
more for the pairs the ``swap`` policy re-judges in B/A order. The algorithm itself lives in
:mod:`unireward_sdk.pairs.algorithm`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from unireward_sdk import CandidateGroup, DroppedPrompt, FilterSpec, hookimpl
from unireward_sdk.judging import DISAGREEMENT_POLICIES
from unireward_sdk.options import Option
from unireward_sdk.pairs.algorithm import POLICIES, STRATEGIES, DropReason, check_policy, check_strategy, decide, schedule, select_lists
from unireward_sdk.pairs.stages import is_open, judge_pairs, pair_item


class PairRanking:
    """Disjoint pairs (0,1), (2,3)... by default; ``all_pairs`` / ``round_robin`` select by net wins.

    ``on_tie`` / ``on_failure``: ``drop`` (the pair contributes nothing), ``swap`` (re-judge in B/A order;
    still a tie or a failure: drop), ``tie`` (count as a tie). ``symmetric=True`` judges every pair in both
    orders through :class:`unireward_sdk.judging.Symmetric` (a disagreement becomes ``symmetric_disagreement``:
    a tie by default); ``swap`` then acts as ``drop``, since both orders were already judged.
    """

    name = "pair_ranking"

    def __init__(
        self,
        strategy: str = "disjoint",
        rounds: int | None = None,
        on_tie: str = "drop",
        on_failure: str = "swap",
        symmetric: bool = False,
        symmetric_disagreement: str = "tie",
    ):
        self.strategy = check_strategy(strategy)
        self.rounds = rounds
        self.on_tie = check_policy("on_tie", on_tie)
        self.on_failure = check_policy("on_failure", on_failure)
        self.symmetric = symmetric
        self.symmetric_disagreement = symmetric_disagreement

    def _judge(self, judge: Any) -> Any:
        if not self.symmetric:
            return judge
        from unireward_sdk.judging import Symmetric

        return Symmetric(judge, on_disagreement=self.symmetric_disagreement)

    def apply(self, groups: Sequence[CandidateGroup], judge: Any) -> list[CandidateGroup]:
        judge = self._judge(judge)
        on_tie = "drop" if self.symmetric and self.on_tie == "swap" else self.on_tie
        on_failure = "drop" if self.symmetric and self.on_failure == "swap" else self.on_failure

        plans: dict[int, list[tuple[int, int]]] = {}
        items = []
        for g, group in enumerate(groups):
            if not is_open(group) or len(group.candidates) < 2:
                continue
            plans[g] = schedule(len(group.candidates), self.strategy, self.rounds)
            items.extend(pair_item(group, a, b) for a, b in plans[g])
        verdicts = iter(judge_pairs(judge, items))

        first: dict[int, list[Any]] = {}  # group -> [(a, b, verdict, decision or None)]
        swaps = []
        for g, plan in plans.items():
            rows = []
            for a, b in plan:
                verdict = next(verdicts)
                decision = decide(a, b, verdict, on_tie=on_tie, on_failure=on_failure)
                if decision is None:
                    swaps.append(pair_item(groups[g], b, a))
                rows.append([a, b, verdict, decision])
            first[g] = rows
        swapped = iter(judge_pairs(judge, swaps))

        out = []
        for g, group in enumerate(groups):
            if not is_open(group):
                out.append(group)
                continue
            if g not in plans:
                out.append(attrs.evolve(group, dropped=DroppedPrompt(
                    group.prompt_id, DropReason.TOO_FEW_CANDIDATES,
                    f"{len(group.candidates)} candidate(s); pair ranking needs at least 2")))
                continue
            new_verdicts, decisions = [], []
            for a, b, verdict, decision in first[g]:
                new_verdicts.append(verdict)
                if decision is None:
                    second = next(swapped)
                    new_verdicts.append(second)
                    decision = decide(a, b, verdict, on_tie=on_tie, on_failure=on_failure, swapped=second)
                decisions.append(decision)
            chosen, rejected = select_lists(decisions, self.strategy)
            verdicts_all = (*group.verdicts, *new_verdicts)
            meta = {**group.meta, "ranking": {
                "strategy": self.strategy, "on_tie": on_tie, "on_failure": on_failure, "symmetric": self.symmetric,
                "decisions": [d.to_dict() for d in decisions], "chosen": list(chosen), "rejected": list(rejected)}}
            dropped = None
            if not chosen or not rejected:
                outcomes = ", ".join(f"{d.a}-{d.b}: {d.reason or d.outcome}" for d in decisions) or "no pairs"
                dropped = DroppedPrompt(group.prompt_id, DropReason.NO_DECIDED_PAIRS,
                                        f"no pair was decided ({outcomes})", verdicts=verdicts_all)
            out.append(attrs.evolve(
                group,
                chosen=tuple(group.candidates[i] for i in chosen),
                rejected=tuple(group.candidates[i] for i in rejected),
                verdicts=verdicts_all,
                meta=meta,
                dropped=dropped,
            ))
        return out


@hookimpl
def unireward_register_filters():
    yield FilterSpec(name="pair_ranking", factory=PairRanking, needs=("pairwise",), options=(
        Option("strategy", str, default="disjoint", choices=STRATEGIES,
               help="disjoint pairs (0,1), (2,3)...; or a tournament selected by net wins"),
        Option("rounds", (int, type(None)), default=None, help="round_robin: rounds to play (default: all)"),
        Option("on_tie", str, default="drop", choices=POLICIES, help="what a tied pair becomes"),
        Option("on_failure", str, default="swap", choices=POLICIES, help="what a failed judgment becomes"),
        Option("symmetric", bool, default=False, help="judge every pair in both orders"),
        Option("symmetric_disagreement", str, default="tie", choices=DISAGREEMENT_POLICIES,
               help="with symmetric: what a disagreement between the orders becomes"),
    ), summary="judge disjoint pairs (or a tournament) into chosen and rejected lists")
