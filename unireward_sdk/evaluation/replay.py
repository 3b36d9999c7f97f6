"""Replaying saved judge outputs instead of running a judge: published outputs, or an earlier run's predictions.

Two layouts are read:

- GenAI-Bench's saved outputs (``results/<task>/<judge>/pairwise.jsonl``, or the ``pairwise.json`` list
  its ``show_results.py`` reads): one record per row of the split, ``idx`` the row's index and
  ``response`` the judge's answer for the published order (left = A). The answer is read as GenAI-Bench's
  ``parse_response`` reads it: the first ``[[...]]`` (greedy, on one line) must be one of its verdicts,
  else the answer is a failure, which that scorer counts wrong.
- ``predictions.jsonl`` of ``unireward eval``: ``id``, ``verdict``, ``status``, ``swapped`` and ``raw``; a
  verdict is mapped back to the published order when the run showed the pair swapped.

:class:`ReplayHead` answers ``judge_pairwise`` from such a file, so every scorer and report of
:mod:`unireward_sdk.evaluation` works on it unchanged, e.g. for a task no installed plugin can judge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from ..errors import ConfigError
from ..records import ParseStatus, Provenance, Verdict
from .benchmarks import BenchmarkExample
from .labels import mirror

# GenAI-Bench's verdict strings (its pairwise templates and inference.py parse_response)
GENAI_VERDICTS: dict[str, tuple[str, str | None]] = {
    "[[A>B]]": ("A", None), "[[A>>B]]": ("A", None),
    "[[B>A]]": ("B", None), "[[B>>A]]": ("B", None),
    "[[A=B]]": ("tie", None), "[[A=B=Good]]": ("tie", "good"), "[[A=B=Bad]]": ("tie", "bad"),
}
_GENAI_VOTE = re.compile(r"\[\[.*\]\]")  # greedy and line-bound, as the scorer's pattern is


@frozen
class ReplayedAnswer:
    """One saved judgment, on the published order: winner (``None`` for a failure), raw text, tie kind."""

    winner: str | None
    raw: str
    status: str = ParseStatus.OK
    error: str | None = None
    tie_kind: str | None = None


@frozen
class Replay:
    """Saved judgments keyed by item id (``by_id``) or by row index in the split (``by_row``)."""

    source: str
    layout: str
    by_id: Mapping[str, ReplayedAnswer]
    by_row: Mapping[int, ReplayedAnswer]
    human_votes: Mapping[int, str]

    def answer_for(self, example: BenchmarkExample) -> ReplayedAnswer | None:
        found = self.by_id.get(example.id)
        row = example.item.meta.get("row")
        if found is None and row is not None:
            found = self.by_row.get(int(row))
        return found

    def check_covers(self, examples: Sequence[BenchmarkExample]) -> None:
        """Every example has a saved answer, and GenAI-Bench's saved human vote (when present) is the example's."""
        missing = [ex.id for ex in examples if self.answer_for(ex) is None]
        if missing:
            raise ConfigError(
                f"no saved judgment for {len(missing)} of {len(examples)} items (first: {', '.join(missing[:3])})",
                who=self.source,
                fix="Replay the outputs written for this benchmark file and split (GenAI-Bench outputs are matched "
                    "by row index), or pass --limit to judge only the rows the file covers")
        wrong = [ex.id for ex in examples if ex.item.meta.get("row") is not None
                 and int(ex.item.meta["row"]) in self.human_votes
                 and self.human_votes[int(ex.item.meta["row"])] != ex.raw_label]
        if wrong:
            raise ConfigError(
                f"the saved human_vote differs from the benchmark's vote_type on {len(wrong)} rows "
                f"(first: {', '.join(wrong[:3])})", who=self.source,
                fix="The outputs were written for another task or split: replay them on the same data "
                    "(GenAI-Bench's leaderboard outputs are for the test_v1 split)")


def parse_genai_response(response: str) -> ReplayedAnswer:
    """One GenAI-Bench answer as its scorer reads it: the verdict, or a failure naming what was found."""
    found = _GENAI_VOTE.search(response or "")
    if found is None:
        return ReplayedAnswer(None, response or "", ParseStatus.UNPARSED, "no [[...]] verdict in the answer")
    vote = found.group()
    if vote not in GENAI_VERDICTS:
        return ReplayedAnswer(None, response, ParseStatus.UNPARSED, f"{vote[:80]} is not a GenAI-Bench verdict")
    winner, kind = GENAI_VERDICTS[vote]
    return ReplayedAnswer(winner, response, tie_kind=kind)


def _records(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            data = json.loads(text)
            if not isinstance(data, list):
                raise ValueError("expected a JSON list of records")
            return data
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise ConfigError(f"cannot read saved judgments ({exc})", who=str(path),
                          fix="Pass a .jsonl file (one JSON object a line) or a .json list") from exc


def load_replay(path: str | Path) -> Replay:
    """Read saved judgments: GenAI-Bench's outputs (``idx`` + ``response``) or ``unireward eval`` predictions."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("no such file", who=str(path), fix="Pass the path of saved judge outputs to --replay")
    records = _records(path)
    if not records:
        raise ConfigError("the file holds no judgments", who=str(path), fix="Pass a non-empty file")
    first = records[0]
    if isinstance(first, dict) and "idx" in first and "response" in first:
        by_row, votes = {}, {}
        for number, rec in enumerate(records, 1):
            if "idx" not in rec or "response" not in rec:
                raise ConfigError(f"record {number} lacks idx or response", who=str(path),
                                  fix="Pass GenAI-Bench outputs as inference.py writes them")
            by_row[int(rec["idx"])] = parse_genai_response(str(rec["response"] or ""))
            if rec.get("human_vote") is not None:
                votes[int(rec["idx"])] = str(rec["human_vote"])
        return Replay(str(path), "genai-bench", {}, by_row, votes)
    if isinstance(first, dict) and {"id", "verdict", "swapped"} <= set(first):
        by_id = {}
        for number, rec in enumerate(records, 1):
            missing = [k for k in ("id", "verdict", "swapped") if k not in rec]
            if missing:
                raise ConfigError(f"record {number} lacks {', '.join(missing)}", who=str(path),
                                  fix="Pass a predictions.jsonl written by `unireward eval`")
            ok = rec.get("status", ParseStatus.OK) == ParseStatus.OK and rec["verdict"] is not None
            winner = (mirror(rec["verdict"]) if rec["swapped"] else rec["verdict"]) if ok else None
            by_id[str(rec["id"])] = ReplayedAnswer(
                winner, str(rec.get("raw") or ""), ParseStatus.OK if ok else str(rec.get("status") or "unparsed"),
                None if ok else str(rec.get("error") or "the saved judgment failed"))
        return Replay(str(path), "predictions", by_id, {}, {})
    raise ConfigError("unknown layout of saved judgments", who=str(path),
                      fix="Pass GenAI-Bench outputs (idx, response) or a predictions.jsonl of `unireward eval` "
                          "(id, verdict, swapped)")


class ReplayHead:
    """A pairwise head that answers from saved judgments (a :class:`Replay`) instead of a model.

    ``examples`` are the benchmark's examples as published; an item shown with A and B exchanged gets the
    mirrored verdict, so order randomisation does not change the figures.
    """

    name = "replay"

    def __init__(self, replay: Replay, examples: Sequence[BenchmarkExample]):
        replay.check_covers(examples)
        self.replay = replay
        self._published = {ex.id: ex for ex in examples}

    def judge_pairwise(self, items) -> list[Verdict]:
        out = []
        for it in items:
            example = self._published.get(it.id)
            answer = self.replay.answer_for(example) if example is not None else None
            if answer is None:
                raise ConfigError(f"no saved judgment for item '{it.id}'", who=self.replay.source,
                                  fix="Replay outputs written for this benchmark file")
            swapped = it.candidates[0].id != example.item.candidates[0].id
            extra = {"replayed_from": self.replay.source}
            if answer.tie_kind is not None:
                extra["tie_kind"] = answer.tie_kind
            if answer.winner is None:
                out.append(Verdict.failure(it.id, answer.status, answer.error or "failed", raw=answer.raw,
                                           provenance=Provenance(extra=extra)))
                continue
            out.append(Verdict(item_id=it.id, winner=mirror(answer.winner) if swapped else answer.winner,
                               raw=answer.raw, provenance=Provenance(extra=extra)))
        return out


__all__ = ["GENAI_VERDICTS", "Replay", "ReplayHead", "ReplayedAnswer", "load_replay", "parse_genai_response"]
