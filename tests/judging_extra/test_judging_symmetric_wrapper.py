"""Symmetric (A/B + B/A) judging: swap mapping, combination, consistency, disagreement policies."""

from __future__ import annotations

import pytest

from unireward_sdk import Candidate, ConfigError, JudgeItem, ParseStatus, Verdict
from unireward_sdk.judging import Symmetric, combine_orders, consistency_report, maybe_symmetric

from fake_heads_extra import PositionBiasedHead, QualityHead


def pair(item_id: str, a: str, b: str) -> JudgeItem:
    return JudgeItem(id=item_id, task="image_understanding", question="q?",
                     candidates=(Candidate(id=f"{item_id}a", text=a), Candidate(id=f"{item_id}b", text=b)))


def test_position_biased_judge_gets_consistency_zero_and_a_tie():
    head = PositionBiasedHead(p_first=1.0)
    [v] = Symmetric(head).judge_pairwise([pair("x", "short", "much longer")])
    assert v.ok and v.winner == "tie"
    assert v.consistency == pytest.approx(0.0)
    assert v.probabilities == {"A": pytest.approx(0.5), "B": pytest.approx(0.5)}
    assert v.provenance.extra["order_winners"] == ("A", "A")


def test_both_orders_go_to_the_head_in_one_batch_with_swapped_candidates():
    head = PositionBiasedHead()
    items = [pair("x", "1", "22"), pair("y", "333", "4")]
    Symmetric(head).judge_pairwise(items)
    assert head.calls == [["x", "y", "x", "y"]]


def test_swapped_verdict_is_mapped_back_to_original_positions():
    forward = Verdict(item_id="x", winner="B", raw="fwd", probabilities={"A": 0.2, "B": 0.7, "tie": 0.1},
                      dimension_scores={"alignment": (0.3, 0.7)})
    # on the swapped item the same candidate (original B) sits in position A
    swapped = Verdict(item_id="x", winner="A", raw="swp", probabilities={"A": 0.6, "B": 0.3, "tie": 0.1},
                      dimension_scores={"alignment": (0.9, 0.1)})
    v = combine_orders(forward, swapped)
    assert v.winner == "B"
    assert v.probabilities == {"A": pytest.approx(0.25), "B": pytest.approx(0.65), "tie": pytest.approx(0.1)}
    # total variation between (0.2,0.7,0.1) and un-swapped (0.3,0.6,0.1) is 0.1
    assert v.consistency == pytest.approx(0.9)
    assert v.dimension_scores["alignment"] == (pytest.approx(0.2), pytest.approx(0.8))
    assert v.raw == "fwd" and v.provenance.extra["swapped_raw"] == "swp"


def test_consistent_judge_keeps_its_winner_and_full_consistency_without_probabilities():
    head = QualityHead(with_probabilities=False)
    vs = Symmetric(head).judge_pairwise([pair("x", "long answer", "s"), pair("y", "s", "long answer")])
    assert [v.winner for v in vs] == ["A", "B"]
    assert [v.consistency for v in vs] == [1.0, 1.0]
    assert all(v.probabilities is None for v in vs)


@pytest.mark.parametrize("policy, expected", [("tie", "tie"), ("average", "A")])
def test_disagreement_policy_picks_the_combined_winner(policy, expected):
    forward = Verdict(item_id="x", winner="A", probabilities={"A": 0.9, "B": 0.1})
    swapped = Verdict(item_id="x", winner="A", probabilities={"A": 0.6, "B": 0.4})  # un-swapped: B 0.6
    v = combine_orders(forward, swapped, on_disagreement=policy)
    assert v.ok and v.winner == expected
    assert v.probabilities == {"A": pytest.approx(0.65), "B": pytest.approx(0.35)}
    assert v.consistency == pytest.approx(1 - 0.5)


def test_fail_policy_turns_disagreement_into_an_inconsistent_failure():
    [v] = Symmetric(PositionBiasedHead(), on_disagreement="fail").judge_pairwise([pair("x", "a", "bb")])
    assert not v.ok and v.status == ParseStatus.INCONSISTENT and v.winner is None
    assert "disagree" in v.error and v.raw
    assert v.consistency is not None


def test_failure_in_either_order_is_a_failure_not_a_winner():
    forward = Verdict(item_id="x", winner="A", raw="Image 1 is better.")
    swapped = Verdict.failure("x", ParseStatus.UNPARSED, "no verdict phrase", raw="???")
    v = combine_orders(forward, swapped)
    assert not v.ok and v.status == ParseStatus.UNPARSED
    assert "B/A order failed" in v.error and v.provenance.extra["swapped_raw"] == "???"


def test_unknown_policy_is_refused():
    with pytest.raises(ConfigError, match="disagreement policy"):
        Symmetric(QualityHead(), on_disagreement="first")


def test_pointwise_passes_through_and_attributes_delegate():
    head = PositionBiasedHead()
    head.backend = "the-backend"
    sym = maybe_symmetric(head, True)
    item = JudgeItem(id="p", task="t", candidates=(Candidate(id="c", text="x"),))
    assert sym.score_pointwise([item]) == head.score_pointwise([item])
    assert sym.backend == "the-backend" and sym.name == "symmetric(position_biased)"
    assert maybe_symmetric(head, False) is head
    assert Symmetric(sym).inner is head  # no double wrapping


def test_consistency_report_exposes_position_bias():
    items = [pair(str(i), "a" * (i + 1), "b" * (5 - i)) for i in range(4)]
    biased = consistency_report(Symmetric(PositionBiasedHead()).judge_pairwise(items))
    assert biased.swap_consistency_rate == 0.0
    assert biased.a_preference_rate == 1.0
    assert biased.n_symmetric == 4 and biased.tie_rate == 1.0

    fair = consistency_report(Symmetric(QualityHead()).judge_pairwise(items))
    assert fair.swap_consistency_rate == 1.0
    assert fair.a_preference_rate == 0.5  # each winner sits once in each position
    assert fair.mean_consistency == pytest.approx(1.0)


def test_consistency_report_on_plain_verdicts_and_failures():
    vs = [Verdict(item_id="1", winner="A"), Verdict(item_id="2", winner="A"), Verdict(item_id="3", winner="B"),
          Verdict(item_id="4", winner="tie"), Verdict.failure("5", ParseStatus.UNPARSED, "x")]
    r = consistency_report(vs)
    assert r.n_symmetric == 0 and r.swap_consistency_rate is None
    assert r.a_preference_rate == pytest.approx(2 / 3)
    assert r.tie_rate == pytest.approx(1 / 4) and r.failure_rate == pytest.approx(1 / 5)
    assert r.as_dict()["n_failed"] == 1
