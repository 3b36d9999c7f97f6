"""The ``point_sifting`` filter: the paper's second stage. Score every member of the chosen and rejected
lists pointwise, pair the best chosen with the worst rejected, and drop the prompt when the chosen score is
not strictly higher.

One pointwise call covers every prompt of the batch; a candidate in both lists (tie handling) is scored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from unireward_sdk import CandidateGroup, DroppedPrompt, FilterSpec, PreferencePair, Provenance, hookimpl
from unireward_sdk.pairs.algorithm import DropReason, margin, sift
from unireward_sdk.pairs.stages import candidate_indices, is_open, judge_checkpoint, point_item, score_points


def _lists(group: CandidateGroup) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ranking = group.meta.get("ranking")
    if ranking is not None:
        return tuple(ranking["chosen"]), tuple(ranking["rejected"])
    return candidate_indices(group, group.chosen), candidate_indices(group, group.rejected)


class PointSifting:
    """argmax (chosen list) vs argmin (rejected list) by pointwise score, kept only when strictly higher.

    Failed scores are left out of the argmax / argmin and listed in ``meta["sifting"]["excluded"]``; when
    no valid score is left on a side the prompt is dropped with that reason.
    """

    name = "point_sifting"

    def apply(self, groups: Sequence[CandidateGroup], judge: Any) -> list[CandidateGroup]:
        todo: dict[int, tuple[int, ...]] = {}
        items = []
        for g, group in enumerate(groups):
            if not is_open(group):
                continue
            chosen, rejected = _lists(group)
            if not chosen or not rejected:
                continue  # dropped below, without spending judge calls
            todo[g] = tuple(sorted(set(chosen) | set(rejected)))
            items.extend(point_item(group, i) for i in todo[g])
        scores = iter(score_points(judge, items))

        out = []
        for g, group in enumerate(groups):
            if not is_open(group):
                out.append(group)
                continue
            chosen, rejected = _lists(group)
            if g not in todo:
                out.append(attrs.evolve(group, dropped=DroppedPrompt(
                    group.prompt_id, DropReason.NO_DECIDED_PAIRS, "empty chosen or rejected list",
                    verdicts=group.verdicts, scores=group.scores)))
                continue
            by_index = {i: next(scores) for i in todo[g]}
            all_scores = (*group.scores, *by_index.values())
            result = sift(chosen, rejected, by_index)
            meta = {**group.meta, "sifting": {
                "scored": list(todo[g]), "chosen": result.chosen, "rejected": result.rejected,
                "excluded": [{"candidate": i, "status": s, "error": e} for i, s, e in result.excluded]}}
            if not result.kept:
                out.append(attrs.evolve(group, scores=all_scores, meta=meta, dropped=DroppedPrompt(
                    group.prompt_id, result.reason, result.detail, verdicts=group.verdicts, scores=all_scores)))
                continue
            c, r = result.chosen, result.rejected
            chosen_score, rejected_score = by_index[c], by_index[r]
            meta["sifting"]["margin"] = margin(chosen_score, rejected_score)
            pair = PreferencePair(
                prompt_id=group.prompt_id,
                task=group.task,
                chosen=group.candidates[c],
                rejected=group.candidates[r],
                prompt=group.prompt,
                question=group.question,
                context=group.context,
                chosen_score=chosen_score,
                rejected_score=rejected_score,
                verdicts=group.verdicts,
                provenance=Provenance(
                    plugin="pair_ranking+point_sifting",
                    checkpoint=judge_checkpoint(judge, group.verdicts, all_scores),
                    template_id=chosen_score.provenance.template_id,
                    extra={"pairwise_templates": sorted({v.provenance.template_id for v in group.verdicts
                                                         if v.provenance.template_id}),
                           "chosen_index": c, "rejected_index": r},
                ),
            )
            out.append(attrs.evolve(group, scores=all_scores, meta=meta, pair=pair))
        return out


@hookimpl
def unireward_register_filters():
    yield FilterSpec(name="point_sifting", factory=PointSifting, needs=("pointwise",), options=(),
                     summary="best chosen vs worst rejected by pointwise score; drop when not strictly higher")
