"""The built-in filters on hand-built judges: batching across prompts, every policy, provenance, contracts."""

from __future__ import annotations

import pytest

from unireward_builtins.filters.margin import MarginFilter
from unireward_builtins.filters.pair_ranking import PairRanking
from unireward_builtins.filters.point_sifting import PointSifting
from unireward_builtins.filters.swap_consistency import SwapConsistency
from unireward_sdk import Candidate, CandidateGroup, ParseStatus, get_registry
from unireward_sdk.testing.filter import FilterContract, HashJudge, ScriptedJudge


def group(pid="p", n=4, task="image_generation"):
    return CandidateGroup(prompt_id=pid, task=task, prompt=f"caption {pid}",
                          candidates=[Candidate(id=f"{pid}/{k}", path=f"/imgs/{pid}_{k}.png", modality="image")
                                      for k in range(n)])


def run(groups, judge, **ranking):
    return PointSifting().apply(PairRanking(**ranking).apply(groups, judge), judge)


def test_the_papers_two_stages_end_to_end():
    # pairs (0,1), (2,3): 1 and 2 win; scores: chosen 1->7, 2->9; rejected 0->4, 3->2 -> pair (2, 3)
    judge = ScriptedJudge(quality={"p/0": 1, "p/1": 5, "p/2": 6, "p/3": 0},
                          scores={"p/0": 4, "p/1": 7, "p/2": 9, "p/3": 2})
    [g] = run([group()], judge)
    assert g.dropped is None
    assert (g.pair.chosen.id, g.pair.rejected.id) == ("p/2", "p/3")
    assert g.meta["ranking"]["chosen"] == [1, 2] and g.meta["ranking"]["rejected"] == [0, 3]
    assert (g.pair.chosen_score.value, g.pair.rejected_score.value) == (9, 2)
    # provenance: checkpoint, templates, every verdict with its raw text and probabilities
    assert g.pair.provenance.checkpoint == "fake://judge"
    assert g.pair.provenance.template_id == "fake.pointwise"
    assert g.pair.provenance.extra["pairwise_templates"] == ["fake.pairwise"]
    assert [x.item_id for x in g.pair.verdicts] == ["p#rank:0-1", "p#rank:2-3"]
    assert all(x.raw and x.probabilities for x in g.pair.verdicts)
    assert [x.item_id for x in g.scores] == ["p#score:0", "p#score:1", "p#score:2", "p#score:3"]


def test_nine_vs_ten_compared_as_numbers():
    judge = ScriptedJudge(quality={"p/0": 1, "p/1": 0, "p/2": 1, "p/3": 0},
                          scores={"p/0": 9, "p/2": 10, "p/1": 3, "p/3": 5})
    [g] = run([group()], judge)
    assert g.pair.chosen.id == "p/2" and g.pair.chosen_score.value == 10
    assert g.pair.rejected.id == "p/1"


def test_prompt_dropped_when_chosen_not_higher():
    judge = ScriptedJudge(quality={"p/0": 1, "p/1": 0, "p/2": 1, "p/3": 0},
                          scores={"p/0": 5, "p/2": 4, "p/1": 5, "p/3": 6})
    [g] = run([group()], judge)
    assert g.pair is None and g.dropped.reason == "chosen_not_better"
    assert len(g.dropped.verdicts) == 2 and len(g.dropped.scores) == 4


def test_judge_calls_batched_across_prompts():
    groups = [group(f"p{i}", 10) for i in range(5)]
    judge = HashJudge()
    run(groups, judge, on_failure="drop", on_tie="drop")
    assert judge.calls[0] == ("pairwise", 25)  # 5 prompts x 5 disjoint pairs in ONE call
    assert [m for m, _ in judge.calls] == ["pairwise", "pointwise"]


def test_swap_policy_rejudges_ties_and_failures_in_one_extra_call():
    judge = ScriptedJudge(quality={"a/0": 1, "a/1": 2, "b/0": 1, "b/1": 2},
                          verdicts={"a#rank:0-1": "tie", "b#rank:0-1": "unparsed", "b#rank:1-0": "tie"})
    out = PairRanking(on_tie="swap", on_failure="swap").apply([group("a", 2), group("b", 2)], judge)
    assert judge.calls == [("pairwise", 2), ("pairwise", 2)]
    a, b = out
    assert a.meta["ranking"]["decisions"][0]["via"] == "swap" and [c.id for c in a.chosen] == ["a/1"]
    assert [x.item_id for x in a.verdicts] == ["a#rank:0-1", "a#rank:1-0"]
    # still a tie after the swap: the pair contributes nothing, the prompt has nothing decided
    assert b.dropped.reason == "no_decided_pairs" and "after_swap" in b.dropped.detail


def test_drop_policy_never_makes_the_first_candidate_win():
    judge = ScriptedJudge(verdicts={"p#rank:0-1": "tie", "p#rank:2-3": "unparsed"})
    [g] = PairRanking(on_tie="drop", on_failure="drop").apply([group()], judge)
    assert g.chosen == () and g.rejected == () and g.dropped.reason == "no_decided_pairs"


def test_tie_policy_lets_point_sifting_decide():
    judge = ScriptedJudge(verdicts={"p#rank:0-1": "tie", "p#rank:2-3": "B"},
                          scores={"p/0": 8, "p/1": 2, "p/3": 6, "p/2": 5})
    [g] = run([group()], judge, on_tie="tie")
    assert g.meta["ranking"]["chosen"] == [0, 1, 3] and g.meta["ranking"]["rejected"] == [0, 1, 2]
    assert (g.pair.chosen.id, g.pair.rejected.id) == ("p/0", "p/1")
    assert judge.calls[-1] == ("pointwise", 4)  # tied candidates scored once


def test_failed_scores_excluded_and_all_failed_drops():
    judge = ScriptedJudge(quality={"p/0": 0, "p/1": 1, "p/2": 1, "p/3": 0},
                          scores={"p/1": ParseStatus.UNPARSED, "p/2": 6, "p/0": 1, "p/3": ParseStatus.OUT_OF_RANGE})
    [g] = run([group()], judge)
    assert (g.pair.chosen.id, g.pair.rejected.id) == ("p/2", "p/0")
    assert [e["candidate"] for e in g.meta["sifting"]["excluded"]] == [1, 3]
    judge = ScriptedJudge(quality={"p/0": 0, "p/1": 1}, scores={"p/1": ParseStatus.UNPARSED, "p/0": 3})
    [g] = run([group(n=2)], judge)
    assert g.dropped.reason == "no_valid_chosen_score"


def test_all_pairs_strategy_selects_by_net_wins():
    judge = ScriptedJudge(quality={"p/0": 3, "p/1": 1, "p/2": 2, "p/3": 0}, scores={})
    [g] = PairRanking(strategy="all_pairs").apply([group()], judge)
    assert judge.calls == [("pairwise", 6)]
    assert g.meta["ranking"]["chosen"] == [0, 2] and g.meta["ranking"]["rejected"] == [1, 3]


def test_symmetric_judging_uses_both_orders():
    judge = ScriptedJudge(quality={"p/0": 1, "p/1": 2, "p/2": 5, "p/3": 5})
    [g] = PairRanking(symmetric=True).apply([group()], judge)
    assert judge.calls == [("pairwise", 4)]
    assert g.meta["ranking"]["chosen"] == [1] and g.verdicts[0].consistency == 1.0


def test_symmetric_disagreement_is_a_tie_not_a_first_win():
    # a judge that always says "A": both orders disagree -> tie -> dropped under on_tie="drop"
    judge = ScriptedJudge(verdicts={"p#rank:0-1": "A", "p#rank:1-0": "A"})
    [g] = PairRanking(symmetric=True).apply([group(n=2)], judge)
    assert g.dropped.reason == "no_decided_pairs"


def test_margin_filter_drops_small_margins():
    judge = ScriptedJudge(quality={"p/0": 1, "p/1": 0}, scores={"p/0": 6, "p/1": 5})
    groups = run([group(n=2)], judge)
    assert MarginFilter(threshold=1).apply(groups)[0].pair is not None
    [g] = MarginFilter(threshold=1.5).apply(groups)
    assert g.pair is None and g.dropped.reason == "below_margin" and "1 < threshold 1.5" in g.dropped.detail
    [g] = MarginFilter(threshold=0.2, normalized=True).apply(groups)  # 1/9 on a 1..10 scale
    assert g.dropped.reason == "below_margin"


def test_swap_consistency_drops_position_biased_pairs():
    judge = ScriptedJudge(quality={"p/0": 1, "p/1": 0}, scores={"p/0": 6, "p/1": 5})
    groups = run([group(n=2)], judge)
    assert SwapConsistency().apply(groups, judge)[0].pair is not None
    biased = ScriptedJudge(verdicts={"p#check:0-1": "A", "p#check:1-0": "A"})
    [g] = SwapConsistency().apply(groups, biased)
    assert g.dropped.reason == "swap_inconsistent"


def test_filters_are_registered_with_their_needs():
    reg = get_registry(refresh=True)
    needs = {name: reg.filter_spec(name).needs for name in
             ("pair_ranking", "point_sifting", "margin", "swap_consistency")}
    assert needs == {"pair_ranking": ("pairwise",), "point_sifting": ("pointwise",), "margin": (),
                     "swap_consistency": ("pairwise",)}
    assert isinstance(reg.filter("pair_ranking", strategy="all_pairs"), PairRanking)


# --- the contract every filter passes -------------------------------------------------------------


class TestPairRankingContract(FilterContract):
    needs = ("pairwise",)

    def make_filter(self):
        return PairRanking(on_failure="swap")

    def make_judge(self):
        return HashJudge(failure_rate=0.3)


class TestPointSiftingContract(FilterContract):
    needs = ("pointwise",)

    def make_filter(self):
        return PointSifting()

    def prepare(self, groups, judge):
        return PairRanking(on_tie="tie").apply(groups, judge)


class TestMarginContract(FilterContract):
    needs = ()

    def make_filter(self):
        return MarginFilter(threshold=2)

    def prepare(self, groups, judge):
        return run(groups, judge)


class TestSwapConsistencyContract(FilterContract):
    needs = ("pairwise",)

    def make_filter(self):
        return SwapConsistency()

    def prepare(self, groups, judge):
        return run(groups, judge)


def test_contract_catches_a_filter_that_judges_per_prompt():
    class PerPrompt(PairRanking):
        def apply(self, groups, judge):
            return [g for one in groups for g in PairRanking.apply(self, [one], judge)]

    class Bad(FilterContract):
        needs = ("pairwise",)

        def make_filter(self):
            return PerPrompt()

    with pytest.raises(AssertionError, match="batch the items"):
        Bad().test_judge_calls_are_batched_across_prompts()
