"""Helpers that filter stages share: judge items built from a group, judge calls checked for shape.

Item ids name what was judged, so a stored verdict or score explains itself:
``<prompt id>#rank:<a>-<b>`` (candidate a shown first), ``<prompt id>#score:<i>``, ``<prompt id>#check:<a>-<b>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import UniRewardError
from ..interfaces import CandidateGroup
from ..records import JudgeItem, Score, Verdict


class JudgeContractError(UniRewardError):
    """A reward head returned something other than one result per item, in order."""


def is_open(group: CandidateGroup) -> bool:
    """Whether a stage still has work on this group (not dropped, and no final pair yet)."""
    return group.dropped is None and group.pair is None


def pair_item(group: CandidateGroup, a: int, b: int, kind: str = "rank") -> JudgeItem:
    return JudgeItem(
        id=f"{group.prompt_id}#{kind}:{a}-{b}",
        task=group.task,
        candidates=(group.candidates[a], group.candidates[b]),
        prompt=group.prompt,
        question=group.question,
        context=group.context,
    )


def point_item(group: CandidateGroup, i: int) -> JudgeItem:
    return JudgeItem(
        id=f"{group.prompt_id}#score:{i}",
        task=group.task,
        candidates=(group.candidates[i],),
        prompt=group.prompt,
        question=group.question,
        context=group.context,
    )


def _checked(results: list[Any], items: Sequence[JudgeItem], judge: Any, method: str) -> list[Any]:
    who = getattr(judge, "name", type(judge).__name__)
    if len(results) != len(items):
        raise JudgeContractError(f"{method} returned {len(results)} results for {len(items)} items",
                                 who=f"reward head '{who}'", fix="A head must return one result per item, in order")
    for item, result in zip(items, results):
        if result.item_id != item.id:
            raise JudgeContractError(f"{method} returned a result for '{result.item_id}' where '{item.id}' was expected",
                                     who=f"reward head '{who}'", fix="Keep each result's item_id equal to its item's id")
    return results


def judge_pairs(judge: Any, items: Sequence[JudgeItem]) -> list[Verdict]:
    """One batched pairwise call (the head chunks it by its own batch size)."""
    if not items:
        return []
    return _checked(list(judge.judge_pairwise(list(items))), items, judge, "judge_pairwise")


def score_points(judge: Any, items: Sequence[JudgeItem]) -> list[Score]:
    """One batched pointwise call."""
    if not items:
        return []
    return _checked(list(judge.score_pointwise(list(items))), items, judge, "score_pointwise")


def candidate_indices(group: CandidateGroup, members: Sequence[Any]) -> tuple[int, ...]:
    """Indices of ``members`` (candidates) within the group, for stages that get lists without indices."""
    by_id = {c.id: i for i, c in enumerate(group.candidates)}
    return tuple(sorted(by_id[m.id] for m in members))


def judge_checkpoint(judge: Any, verdicts: Sequence[Verdict] = (), scores: Sequence[Score] = ()) -> str | None:
    """The judge's checkpoint as its records report it, else as the head or its backend does."""
    for record in (*verdicts, *scores):
        if record.provenance.checkpoint:
            return record.provenance.checkpoint
    for owner in (judge, getattr(judge, "backend", None)):
        value = getattr(owner, "checkpoint", None) if owner is not None else None
        if isinstance(value, str) and value:
            return value
    return None
