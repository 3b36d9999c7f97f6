"""Fake judges and a contract test base for Filter plugins (pair-construction stages).

    from unireward_sdk.testing.filter import FilterContract

    class TestMyFilter(FilterContract):
        needs = ("pairwise",)
        def make_filter(self):
            return MyFilter(threshold=2)

The subclass inherits the checks every filter must pass: one group out per group in, in order; groups that are
already closed pass through untouched; a batch gives what each group gives alone; the same input gives the
same output; judge calls are batched across prompts; only the judging modes in ``needs`` are used; and a judge
that fails on everything never yields a pair.

:class:`ScriptedJudge` answers from tables (for hand-built cases); :class:`HashJudge` derives a deterministic
quality from each candidate's content (for whole jobs, in tests and subprocesses).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..interfaces import CandidateGroup
from ..records import Candidate, JudgeItem, ParseStatus, Provenance, Score, Verdict

_VERDICT_TEXT = {"A": "Image 1 is better.", "B": "Image 2 is better.", "tie": "Both images are equally good."}


class _Recording:
    """Counts calls and items per judging mode, so tests can assert on batching."""

    name = "fake"
    checkpoint = "fake://judge"

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def count(self, mode: str) -> int:
        return sum(1 for m, _ in self.calls if m == mode)

    def _verdict(self, item: JudgeItem, answer: Any) -> Verdict:
        prov = Provenance(plugin=self.name, checkpoint=self.checkpoint, template_id="fake.pairwise")
        if isinstance(answer, Verdict):
            return answer
        if answer in ("A", "B", "tie"):
            probs = {"A": 0.1, "B": 0.1, "tie": 0.1}
            probs[answer] = 0.8
            return Verdict(item.id, answer, raw=_VERDICT_TEXT[answer], probabilities=probs, provenance=prov)
        status = answer if answer in ParseStatus.ALL else ParseStatus.UNPARSED
        return Verdict.failure(item.id, status, "no verdict phrase in the output", raw="???", provenance=prov)

    def _score(self, item: JudgeItem, value: Any, scale: tuple[float, float]) -> Score:
        prov = Provenance(plugin=self.name, checkpoint=self.checkpoint, template_id="fake.pointwise")
        if isinstance(value, Score):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return Score(item.id, float(value), scale=scale, raw=f"Final Score: {value:g}", provenance=prov)
        status = value if value in ParseStatus.ALL else ParseStatus.UNPARSED
        return Score.failure(item.id, status, "no 'Final Score:' in the output", raw="Final Score: ??", provenance=prov)


class ScriptedJudge(_Recording):
    """A reward head answering from tables, for hand-built filter cases.

    ``verdicts`` maps an item id (e.g. ``"p0#rank:0-1"``) to ``"A"``, ``"B"``, ``"tie"``, a failure status
    (e.g. ``"unparsed"``) or a :class:`Verdict`. Items not in the table are decided by ``quality`` (candidate id
    -> number; higher wins, equal is a tie). ``scores`` maps a candidate id to a number, a failure status or a
    :class:`Score`; missing candidates score their ``quality``. Every call is recorded in ``calls``.
    """

    name = "scripted"

    def __init__(
        self,
        quality: Mapping[str, float] | None = None,
        verdicts: Mapping[str, Any] | None = None,
        scores: Mapping[str, Any] | None = None,
        scale: tuple[float, float] = (1.0, 10.0),
    ):
        super().__init__()
        self.quality = dict(quality or {})
        self.verdicts = dict(verdicts or {})
        self.scores = dict(scores or {})
        self.scale = scale

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        self.calls.append(("pairwise", len(items)))
        out = []
        for item in items:
            if item.id in self.verdicts:
                out.append(self._verdict(item, self.verdicts[item.id]))
                continue
            qa, qb = (self.quality.get(c.id) for c in item.candidates)
            if qa is None or qb is None:
                out.append(self._verdict(item, ParseStatus.UNPARSED))
            else:
                out.append(self._verdict(item, "A" if qa > qb else "B" if qb > qa else "tie"))
        return out

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]:
        self.calls.append(("pointwise", len(items)))
        out = []
        for item in items:
            cid = item.candidates[0].id
            value = self.scores.get(cid, self.quality.get(cid, ParseStatus.UNPARSED))
            out.append(self._score(item, value, self.scale))
        return out


def _unit(text: str) -> float:
    """A deterministic number in [0, 1) from a string."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2**64


def content_quality(candidate: Candidate) -> int:
    """0..10: ``meta["quality"]`` when given, else derived from the candidate's text or file name."""
    if "quality" in candidate.meta:
        return int(candidate.meta["quality"])
    key = candidate.text if candidate.text is not None else os.path.basename(str(candidate.path))
    return int(_unit(key) * 11)


class HashJudge(_Recording):
    """A deterministic fake judge for whole jobs: the better candidate has the higher content quality.

    Equal qualities give a tie; ``failure_rate`` of the items (chosen by a hash of the item id) fail to
    parse; ``delay`` seconds of sleep per call let tests interrupt a job mid-way. Scores are qualities on a
    0-10 scale. Build it from a job config with ``judge_factory = "unireward_sdk.testing.filter:HashJudge"``.
    """

    name = "hash"
    checkpoint = "fake://hash-judge"

    def __init__(self, failure_rate: float = 0.0, delay: float = 0.0, quality: Callable[[Candidate], float] | None = None):
        super().__init__()
        self.failure_rate = float(failure_rate)
        self.delay = float(delay)
        self.quality = quality or content_quality

    def _fails(self, item: JudgeItem) -> bool:
        return _unit(item.id + "/fail") < self.failure_rate

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        self.calls.append(("pairwise", len(items)))
        time.sleep(self.delay)
        out = []
        for item in items:
            if self._fails(item):
                out.append(self._verdict(item, ParseStatus.UNPARSED))
                continue
            qa, qb = (self.quality(c) for c in item.candidates)
            out.append(self._verdict(item, "A" if qa > qb else "B" if qb > qa else "tie"))
        return out

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]:
        self.calls.append(("pointwise", len(items)))
        time.sleep(self.delay)
        return [self._score(item, ParseStatus.UNPARSED if self._fails(item) else self.quality(item.candidates[0]),
                            (0.0, 10.0)) for item in items]


class FailingJudge(_Recording):
    """Every verdict and every score is a parse failure (for "never first-wins" checks)."""

    name = "failing"

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        self.calls.append(("pairwise", len(items)))
        return [self._verdict(item, ParseStatus.UNPARSED) for item in items]

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]:
        self.calls.append(("pointwise", len(items)))
        return [self._score(item, ParseStatus.UNPARSED, (1.0, 10.0)) for item in items]


def text_groups(n_prompts: int = 3, n_candidates: int = 4, task: str = "image_understanding") -> list[CandidateGroup]:
    """Prompts with text candidates whose ``meta["quality"]`` differs, for filter tests."""
    groups = []
    for p in range(n_prompts):
        cands = tuple(Candidate(id=f"p{p}/{k}", text=f"answer {k} to question {p}",
                                meta={"quality": (3 * k + 2 * p) % 7}) for k in range(n_candidates))
        groups.append(CandidateGroup(prompt_id=f"p{p}", task=task, candidates=cands, question=f"question {p}?"))
    return groups


class FilterContract:
    """Checks every Filter plugin must pass. Subclasses define :meth:`make_filter` and ``needs``.

    Override :meth:`make_groups` to change the inputs, :meth:`prepare` to run the stages your filter expects
    before it (e.g. pair ranking and point sifting before a margin filter), and :meth:`make_judge`.
    """

    needs: tuple[str, ...] = ()

    def make_filter(self) -> Any:
        raise NotImplementedError("FilterContract subclasses define make_filter()")

    def make_judge(self) -> Any:
        return HashJudge()

    def make_groups(self) -> list[CandidateGroup]:
        return text_groups(3, 4)

    def prepare(self, groups: list[CandidateGroup], judge: Any) -> list[CandidateGroup]:
        return groups

    def _inputs(self) -> list[CandidateGroup]:
        return self.prepare(self.make_groups(), HashJudge())

    def test_one_group_out_per_group_in_in_order(self):
        groups = self._inputs()
        out = self.make_filter().apply(groups, self.make_judge())
        assert [g.prompt_id for g in out] == [g.prompt_id for g in groups]
        assert all(isinstance(g, CandidateGroup) for g in out)

    def test_closed_groups_pass_through_unchanged(self):
        from ..records import DroppedPrompt

        groups = self._inputs()
        closed = [g if g.dropped is not None else
                  _evolve(g, pair=None, dropped=DroppedPrompt(g.prompt_id, "closed_upstream", "by the contract test"))
                  for g in groups]
        judge = self.make_judge()
        out = self.make_filter().apply(closed, judge)
        assert out == closed
        assert sum(n for _, n in judge.calls) == 0, "a filter must not judge groups that are already closed"

    def test_batch_equals_each_group_alone(self):
        groups = self._inputs()
        together = self.make_filter().apply(groups, self.make_judge())
        alone = [self.make_filter().apply([g], self.make_judge())[0] for g in groups]
        assert together == alone

    def test_deterministic(self):
        groups = self._inputs()
        assert self.make_filter().apply(groups, self.make_judge()) == self.make_filter().apply(groups, self.make_judge())

    def test_judge_calls_are_batched_across_prompts(self):
        groups = self._inputs()
        batch_judge = self.make_judge()
        self.make_filter().apply(groups, batch_judge)
        most_alone = 0
        for g in groups:
            judge = self.make_judge()
            self.make_filter().apply([g], judge)
            most_alone = max(most_alone, len(judge.calls))
        assert len(batch_judge.calls) <= most_alone, (
            f"{len(batch_judge.calls)} judge calls for {len(groups)} prompts; one prompt alone needs at most "
            f"{most_alone}: batch the items of all prompts into each call")

    def test_uses_only_declared_judging_modes(self):
        judge = self.make_judge()
        self.make_filter().apply(self._inputs(), judge)
        used = {mode for mode, n in judge.calls if n}
        assert used <= set(self.needs), f"the filter judged {sorted(used)} but declares needs={self.needs}"

    def test_failing_judge_never_yields_a_pair(self):
        groups = [_evolve(g, pair=None) if g.dropped is None else g for g in self._inputs()]
        out = self.make_filter().apply(groups, FailingJudge())
        made = [g.prompt_id for g, before in zip(out, groups) if g.pair is not None and before.pair is None]
        assert not made, f"pairs made from failed judgments for {made}: failures must never pick a winner"


def _evolve(group: CandidateGroup, **changes: Any) -> CandidateGroup:
    import attrs

    return attrs.evolve(group, **changes)


__all__ = ["FailingJudge", "FilterContract", "HashJudge", "ScriptedJudge", "content_quality", "text_groups"]
