"""The ablation's selection strategies: contract checks and what each one picks."""

from __future__ import annotations

import pytest

from unireward_testbed import stats as S
from unireward_testbed.selection import AllCandidates, RandomPair, RankedPairOnly, stages
from unireward_sdk.testing.filter import FilterContract, HashJudge, content_quality, text_groups


def _chain(groups, filters, judge=None):
    judge = judge or HashJudge()
    for stage in filters:
        groups = stage.apply(groups, judge)
    return groups


class TestRandomPairContract(FilterContract):
    needs = ()

    def make_filter(self):
        return RandomPair(seed=3)

    def test_failing_judge_never_yields_a_pair(self):
        pytest.skip("random pairs never consult the judge: that is the baseline's point")


class TestAllCandidatesContract(FilterContract):
    needs = ()

    def make_filter(self):
        return AllCandidates()


class TestRankedPairOnlyContract(FilterContract):
    needs = ()

    def make_filter(self):
        return RankedPairOnly(seed=1)

    def prepare(self, groups, judge):
        return stages("pair_ranking_only")[0].apply(groups, judge)

    def test_failing_judge_never_yields_a_pair(self):
        # this stage reads the pair ranking's decisions; with a failing judge there are none to read
        from unireward_sdk.testing.filter import FailingJudge

        out = _chain(text_groups(3, 4), stages("pair_ranking_only"), FailingJudge())
        assert all(g.pair is None and g.dropped is not None for g in out)


def test_random_pairs_are_distinct_and_seeded():
    groups = text_groups(20, 6)
    one = _chain(groups, stages("random", seed=1))
    assert all(g.pair.chosen.id != g.pair.rejected.id for g in one)
    assert one == _chain(groups, stages("random", seed=1))
    assert one != _chain(groups, stages("random", seed=2))


def test_pointwise_only_pairs_best_against_worst():
    groups = text_groups(12, 6)
    for g in _chain(groups, stages("pointwise_only")):
        qualities = [content_quality(c) for c in g.candidates]
        if g.pair is None:  # every candidate scored the same: the paper's rule drops the prompt
            assert g.dropped.reason == "chosen_not_better" and len(set(qualities)) == 1
            continue
        assert content_quality(g.pair.chosen) == max(qualities)
        assert content_quality(g.pair.rejected) == min(qualities)


def test_pair_ranking_only_keeps_a_judged_pair_as_judged():
    groups = text_groups(12, 6)
    for g in _chain(groups, stages("pair_ranking_only", seed=0)):
        if g.pair is None:
            continue
        assert content_quality(g.pair.chosen) > content_quality(g.pair.rejected)
        decided = {(d["winner"], d["loser"]) for d in g.meta["ranking"]["decisions"] if d["outcome"] == "win"}
        ids = [c.id for c in g.candidates]
        assert (ids.index(g.pair.chosen.id), ids.index(g.pair.rejected.id)) in decided


def test_two_stage_is_the_sdk_chain():
    names = [type(s).__name__ for s in stages("two_stage")]
    assert names == ["PairRanking", "PointSifting"]
    with pytest.raises(ValueError):
        stages("best_guess")


def test_delta_and_verdicts():
    up = S.delta_ci([[1.0, 1.0, 0.9, 1.0] * 5], [[0.0, 0.1, 0.0, 0.0] * 5])
    assert S.verdict(up) == "reproduced" and up["ci"][0] > 0
    down = S.delta_ci([[0.0] * 10], [[1.0] * 10])
    assert S.verdict(down) == "not reproduced"
    noisy = S.delta_ci([[1.0, 0.0, 1.0, 0.0, 0.5]], [[0.0, 1.0, 0.0, 1.0, 0.4]])
    assert S.verdict(noisy) == "inconclusive"
    assert "not reproduced" in S.claim("two-stage > random", down)["text"]
    # a lower bound that is zero up to float rounding (measured: 1.7e-17 from a full-profile run) is zero
    assert S.verdict({"mean": 0.036, "ci": [1.7e-17, 0.08]}) == "inconclusive"
    assert S.verdict({"mean": 1e-17, "ci": [-0.01, 0.02]}) == "not reproduced"


def test_two_level_interval_is_wider_when_seeds_disagree():
    agree = S.mean_ci([[0.5] * 20, [0.5] * 20])
    disagree = S.mean_ci([[0.2] * 20, [0.8] * 20])
    assert agree["ci"] == [0.5, 0.5]
    assert disagree["ci"][0] < 0.3 and disagree["ci"][1] > 0.7
    with pytest.raises(ValueError):
        S.mean_ci([[1.0, 2.0], [1.0]])


def test_the_report_counts_only_answers_the_parser_could_not_read():
    from unireward_testbed.pairs import judge_answer_counts
    from unireward_testbed.report import _unparsed

    summary = {"verdicts": 84, "scores": 10,
               "parse_failures": {"pairwise": {"unparsed": 5, "ambiguous": 1, "backend_error": 7}, "pointwise": {}}}
    counts = judge_answer_counts(summary)
    assert counts == {"pairwise": {"answers": 84, "unparsed": 6}, "pointwise": {"answers": 10, "unparsed": 0}}
    assert _unparsed(counts) == "6 of 84; 0 of 10"
    assert _unparsed({"pairwise": {"answers": 0, "unparsed": 0}, "pointwise": {"answers": 4, "unparsed": 1}}) == "—; 1 of 4"
    assert _unparsed(judge_answer_counts({})) == "—"  # random pairs: no judge
