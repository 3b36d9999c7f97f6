"""The paper's pair ranking + point sifting on hand-built verdicts and scores: schedules, policies, 9 vs 10."""

from __future__ import annotations

import itertools

import pytest

from unireward_sdk import ConfigError, ParseStatus, Score, Verdict
from unireward_sdk.pairs.algorithm import DropReason, decide, net_wins, schedule, select_lists, sift


def v(winner):
    if winner in ("A", "B", "tie"):
        return Verdict("x", winner)
    return Verdict.failure("x", ParseStatus.UNPARSED, "nothing to parse", raw="???")


def s(value):
    if value is None:
        return Score.failure("x", ParseStatus.UNPARSED, "no Final Score", raw="Final Score: ?")
    return Score("x", float(value), scale=(1, 10))


# --- schedules ----------------------------------------------------------------------------------


def test_disjoint_schedule_is_the_papers():
    assert schedule(10) == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    assert schedule(5) == [(0, 1), (2, 3)]  # the odd one sits out
    assert schedule(1) == []


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 9, 10])
def test_all_pairs_and_full_round_robin_cover_every_pair_once(n):
    every = {frozenset(p) for p in itertools.combinations(range(n), 2)}
    for strategy in ("all_pairs", "round_robin"):
        pairs = schedule(n, strategy)
        assert len(pairs) == len(every)
        assert {frozenset(p) for p in pairs} == every
        shown_first = [a for a, _ in pairs]
        # position A is spread: nobody is shown first in every game
        assert max(shown_first.count(i) for i in range(n)) <= n // 2


def test_round_robin_rounds_are_disjoint_matchings():
    pairs = schedule(6, "round_robin", rounds=2)
    assert len(pairs) == 6
    for r in range(2):
        members = [c for p in pairs[3 * r: 3 * r + 3] for c in p]
        assert sorted(members) == list(range(6))
    with pytest.raises(ConfigError):
        schedule(6, "round_robin", rounds=9)
    with pytest.raises(ConfigError):
        schedule(6, "bracket")


# --- one pair under each policy -----------------------------------------------------------------


def test_decisive_verdicts_name_the_judged_candidate():
    assert decide(2, 3, v("A")).winner == 2
    d = decide(2, 3, v("B"))
    assert (d.outcome, d.winner, d.loser) == ("win", 3, 2)


@pytest.mark.parametrize("event", ["tie", "fail"])
def test_drop_policy_contributes_nothing(event):
    d = decide(0, 1, v(event), on_tie="drop", on_failure="drop")
    assert d.outcome == "dropped" and d.winner is None
    assert d.reason == ("tie" if event == "tie" else "failure:unparsed")


@pytest.mark.parametrize("event", ["tie", "fail"])
def test_tie_policy_counts_a_tie_never_a_first_win(event):
    d = decide(0, 1, v(event), on_tie="tie", on_failure="tie")
    assert d.outcome == "tie" and d.winner is None


@pytest.mark.parametrize("event", ["tie", "fail"])
def test_swap_policy_rejudges_in_ba_order(event):
    kw = {"on_tie": "swap", "on_failure": "swap"}
    assert decide(0, 1, v(event), **kw) is None  # asks for the re-judge
    # in the swapped item candidate 1 is shown as A
    d = decide(0, 1, v(event), swapped=v("A"), **kw)
    assert (d.outcome, d.winner, d.loser, d.via) == ("win", 1, 0, "swap")
    d = decide(0, 1, v(event), swapped=v("B"), **kw)
    assert (d.winner, d.loser) == (0, 1)
    for still in ("tie", "fail"):
        d = decide(0, 1, v(event), swapped=v(still), **kw)
        assert d.outcome == "dropped" and d.reason.endswith("_after_swap")


def test_unknown_policy_is_refused():
    with pytest.raises(ConfigError, match="on_tie"):
        decide(0, 1, v("tie"), on_tie="first")


# --- lists --------------------------------------------------------------------------------------


def test_disjoint_lists_winners_and_losers():
    ds = [decide(0, 1, v("B")), decide(2, 3, v("A")), decide(4, 5, v("fail"), on_failure="drop"),
          decide(6, 7, v("tie"), on_tie="tie")]
    chosen, rejected = select_lists(ds)
    # a counted tie puts both in both lists; a dropped pair in neither
    assert chosen == (1, 2, 6, 7)
    assert rejected == (0, 3, 6, 7)


def test_tournament_lists_by_net_wins():
    # 0 beats 1 and 2; 1 beats 2; 3 ties 0 -> net: 0:+2, 1:0, 2:-2, 3:0
    ds = [decide(0, 1, v("A")), decide(2, 0, v("B")), decide(1, 2, v("A")), decide(3, 0, v("tie"), on_tie="tie")]
    assert net_wins(ds) == {0: 2, 1: 0, 2: -2, 3: 0}
    assert select_lists(ds, "all_pairs") == ((0,), (2,))


# --- point sifting ------------------------------------------------------------------------------


def test_scores_compare_as_numbers_9_vs_10():
    # as strings "9" > "10"; as numbers 10 wins
    got = sift([0, 2], [1, 3], {0: s(9), 2: s(10), 1: s(3), 3: s(2)})
    assert (got.chosen, got.rejected) == (2, 3)
    got = sift([0], [1], {0: s(10), 1: s(9)})
    assert got.kept and (got.chosen, got.rejected) == (0, 1)


def test_drop_when_chosen_is_not_strictly_higher():
    equal = sift([0], [1], {0: s(7), 1: s(7)})
    assert not equal.kept and equal.reason == DropReason.CHOSEN_NOT_BETTER
    lower = sift([0, 2], [1, 3], {0: s(4), 2: s(5), 1: s(9), 3: s(6)})
    assert not lower.kept and lower.reason == DropReason.CHOSEN_NOT_BETTER
    assert "5" in lower.detail and "6" in lower.detail


def test_failed_scores_are_excluded_with_their_reason():
    got = sift([0, 2], [1, 3], {0: s(None), 2: s(6), 1: s(2), 3: s(None)})
    assert (got.chosen, got.rejected) == (2, 1)
    assert [e[0] for e in got.excluded] == [0, 3] and got.excluded[0][1] == "unparsed"


def test_no_valid_scores_drops_with_reason():
    assert sift([0], [1], {0: s(None), 1: s(3)}).reason == DropReason.NO_VALID_CHOSEN_SCORE
    assert sift([0], [1], {0: s(3), 1: s(None)}).reason == DropReason.NO_VALID_REJECTED_SCORE


def test_tied_candidate_in_both_lists_is_never_paired_with_itself():
    # 6 and 7 tied (both lists); 6 is the best chosen and also the worst rejected
    got = sift([1, 6, 7], [0, 6, 7], {1: s(5), 6: s(9), 7: s(8), 0: s(2)})
    assert (got.chosen, got.rejected) == (6, 0)
    only = sift([6], [6], {6: s(9)})
    assert only.reason == DropReason.NO_DISTINCT_PAIR


def test_equal_best_scores_resolve_to_the_lower_candidate_index():
    got = sift([3, 1], [0, 2], {3: s(8), 1: s(8), 0: s(1), 2: s(1)})
    assert (got.chosen, got.rejected) == (1, 0)
