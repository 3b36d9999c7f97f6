"""Value records: JSON round trips, failures that must say why, hashing and small behaviours."""

from __future__ import annotations

import json

import attrs
import pytest

from unireward_sdk import (
    Candidate,
    DroppedPrompt,
    JudgeItem,
    ParseStatus,
    PreferencePair,
    Provenance,
    Score,
    Verdict,
)
from unireward_sdk.records import from_dict, to_dict

PROV = Provenance(plugin="generative", checkpoint="tiny-judge", template_id="gen.pairwise_rank.qwen_v1", seed=3,
                  extra={"swap": True})
A = Candidate(id="a", modality="image", path="/tmp/a.png", meta={"step": 2}, provenance=PROV)
B = Candidate(id="b", text="a red square")
VERDICT = Verdict(item_id="p1", winner="A", raw="Image 1 is better", probabilities={"A": 0.7, "B": 0.2, "tie": 0.1},
                  dimension_scores={"alignment": (4.0, 2.5)}, consistency=1.0, provenance=PROV)
FAILED = Verdict.failure("p2", ParseStatus.UNPARSED, "no verdict phrase found", raw="hmm")
SCORE = Score(item_id="p1:a", value=4.0, scale=(1.0, 5.0), dimensions={"quality": 3.5}, raw="Score: 4", provenance=PROV)

RECORDS = [
    PROV,
    A,
    B,
    JudgeItem(id="p1", task="gen", candidates=[A, B], prompt="a red square", context=["/tmp/c.png"], meta={"k": 1}),
    VERDICT,
    FAILED,
    SCORE,
    Score.failure("p1:b", ParseStatus.OUT_OF_RANGE, "11 is outside 1-5", raw="Score: 11"),
    PreferencePair(prompt_id="p1", task="gen", chosen=A, rejected=B, prompt="a red square", chosen_score=SCORE,
                   verdicts=[VERDICT, FAILED], provenance=PROV),
    DroppedPrompt(prompt_id="p3", reason="chosen_not_better", detail="2.0 < 3.0", verdicts=[FAILED], scores=[SCORE]),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_json_round_trip_rebuilds_an_equal_record(record):
    data = json.loads(json.dumps(to_dict(record)))
    assert data["__type__"] == type(record).__name__
    back = from_dict(data)
    assert back == record and type(back) is type(record)
    for a in attrs.fields(type(record)):  # tuples stay tuples (scales, per-axis pairs, candidates)
        assert type(getattr(back, a.name)) is type(getattr(record, a.name)) or isinstance(getattr(record, a.name), dict)


def test_round_trip_keeps_nested_tuples():
    back = from_dict(json.loads(json.dumps(to_dict(VERDICT))))
    assert back.dimension_scores["alignment"] == (4.0, 2.5)
    assert from_dict(to_dict(SCORE)).scale == (1.0, 5.0)


@pytest.mark.parametrize("make", [
    lambda: Verdict(item_id="x", winner=None, status=ParseStatus.UNPARSED),
    lambda: Verdict(item_id="x", winner=None, status=ParseStatus.BACKEND_ERROR, error=""),
    lambda: Score(item_id="x", value=None, status=ParseStatus.MEDIA_ERROR),
])
def test_failures_must_say_why(make):
    with pytest.raises(ValueError, match="must say why"):
        make()


def test_ok_verdict_needs_a_winner_and_ok_score_a_value():
    with pytest.raises(ValueError, match="needs a winner"):
        Verdict(item_id="x", winner=None)
    with pytest.raises(ValueError, match="needs a winner"):
        Verdict(item_id="x", winner="C")
    with pytest.raises(ValueError, match="needs a value"):
        Score(item_id="x", value=None)


def test_failure_constructors_record_status_error_and_raw():
    assert (FAILED.ok, FAILED.winner, FAILED.status, FAILED.error, FAILED.raw) == (
        False, None, "unparsed", "no verdict phrase found", "hmm")
    assert VERDICT.ok and SCORE.ok


def test_records_are_frozen_and_hashable():
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        VERDICT.winner = "B"
    assert len({VERDICT, VERDICT, FAILED, SCORE, RECORDS[8]}) == 4  # probabilities are a dict: not in the hash


def test_normalized_score_and_its_edge_cases():
    assert SCORE.normalized == pytest.approx(0.75)
    assert Score(item_id="x", value=2.0).normalized is None
    assert Score(item_id="x", value=2.0, scale=(2.0, 2.0)).normalized is None


def test_candidate_needs_text_or_path_and_item_has_one_or_two():
    with pytest.raises(ValueError, match="needs a text or a path"):
        Candidate(id="empty")
    with pytest.raises(ValueError, match="expected 1 \\(pointwise\\) or 2 \\(pairwise\\) candidates, got 3"):
        JudgeItem(id="i", task="gen", candidates=[A, B, A])


def test_item_mode_and_swap():
    pair = JudgeItem(id="i", task="gen", candidates=[A, B])
    assert pair.mode == "pairwise" and pair.swapped().candidates == (B, A)
    single = JudgeItem(id="j", task="gen", candidates=[A])
    assert single.mode == "pointwise"
    with pytest.raises(ValueError, match="only pairwise"):
        single.swapped()
