"""Metrics and label mappings against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unireward_sdk.evaluation import labels as L
from unireward_sdk.evaluation import metrics as M

# seven items: gold labels and judge predictions (None = an unparsed verdict)
GOLD = ["A", "B", "tie", "tie", "A", "B", "A"]
PRED = ["A", "tie", "tie", "A", None, "B", "A"]
# right:  yes   no     yes    no   no    yes  yes  -> tau 4/7
# non-tie items 0,1,4,5,6: yes no(judge tie) no(failure) yes yes -> diff 3/5


def test_tau_counts_ties_only_when_the_judge_says_tie():
    assert M.accuracy_with_ties(PRED, GOLD) == pytest.approx(4 / 7)
    assert M.correct_flags(PRED, GOLD) == [True, False, True, False, False, True, True]


def test_diff_is_over_non_tie_items_and_a_judge_tie_there_is_wrong():
    assert M.accuracy_without_ties(PRED, GOLD) == pytest.approx(3 / 5)
    # a judge that says tie everywhere gets every non-tie item wrong
    assert M.accuracy_without_ties(["tie"] * 7, GOLD) == 0.0


def test_ties_counted_wrong_matches_the_unifiedreward_script_convention():
    # right non-tie items (3) over all items (7): the tie items are wrong whatever was said
    assert M.accuracy_ties_counted_wrong(PRED, GOLD) == pytest.approx(3 / 7)


def test_empty_denominators_are_undefined_not_zero():
    assert M.accuracy_with_ties([], []) is None
    assert M.accuracy_without_ties(["tie"], ["tie"]) is None
    assert M.a_preference_rate([None, "tie"]) is None
    assert M.pearson([1.0], [2.0]) is None


def test_failures_are_wrong_and_counted():
    assert M.failure_count(PRED) == 1
    assert M.accuracy([None, None], ["A", "B"]) == 0.0


def test_confusion_matrix_rows_gold_columns_verdicts_and_failed():
    table = M.confusion_matrix(PRED, GOLD)
    assert table == {
        "A": {"A": 2, "B": 0, "tie": 0, "failed": 1},
        "B": {"A": 0, "B": 1, "tie": 1, "failed": 0},
        "tie": {"A": 1, "B": 0, "tie": 1, "failed": 0},
    }


def test_position_figures():
    # decisive predictions: A, A, B, A -> 3 of 4 pick A; usable 6, ties 2
    assert M.a_preference_rate(PRED) == pytest.approx(3 / 4)
    assert M.tie_rate(PRED) == pytest.approx(2 / 6)
    forward = ["A", "B", "tie", "A", None]
    swapped = ["B", "B", "tie", None, "A"]  # consistent, inconsistent, consistent, failure, failure
    sc = M.swap_consistency(forward, swapped)
    assert sc["rate"] == pytest.approx(2 / 3)
    assert sc["rate_failures_inconsistent"] == pytest.approx(2 / 5)
    assert (sc["consistent"], sc["pairs_usable"], sc["pairs"]) == (2, 3, 5)


def test_category_and_macro_accuracy():
    gold = ["A", "B", "A", "B", "A", "B"]
    pred = ["A", "B", "A", "A", None, "A"]
    cats = ["general", "general", "hallucination", "hallucination", "reasoning", "reasoning"]
    per = M.category_accuracy(pred, gold, cats)
    assert per == {"general": 1.0, "hallucination": 0.5, "reasoning": 0.0}
    assert M.macro_accuracy(pred, gold, cats) == pytest.approx(0.5)
    assert M.macro_accuracy(pred, gold, cats, required=("general", "hallucination", "reasoning")) == pytest.approx(0.5)
    # a required category with no items: the benchmark's macro mean is undefined
    assert M.macro_accuracy(pred[:4], gold[:4], cats[:4], required=("general", "hallucination", "reasoning")) is None
    # overall accuracy weights items, macro weights categories
    assert M.accuracy(pred, gold) == pytest.approx(3 / 6)


def test_bootstrap_is_deterministic_under_a_seed_and_brackets_the_estimate():
    flags = np.array([1, 0, 1, 1, 0, 1, 1, 0, 1, 1] * 5, dtype=float)
    stat = lambda idx: float(flags[idx].mean())  # noqa: E731
    first = M.bootstrap_ci(stat, len(flags), n_resamples=1000, seed=7)
    again = M.bootstrap_ci(stat, len(flags), n_resamples=1000, seed=7)
    other = M.bootstrap_ci(stat, len(flags), n_resamples=1000, seed=8)
    assert first == again
    assert first != other
    lo, hi = first
    assert lo < flags.mean() < hi
    assert 0.4 < lo < 0.7 < hi < 0.9
    # no variation, no interval width
    assert M.bootstrap_ci(lambda idx: 1.0, 5, n_resamples=50) == (1.0, 1.0)
    assert M.bootstrap_ci(stat, 0) is None
    assert M.bootstrap_ci(lambda idx: None, 5, n_resamples=20) is None


def test_bootstrap_metric_resamples_aligned_rows():
    ci = M.bootstrap_metric(M.accuracy_with_ties, [PRED, GOLD], n_resamples=300, seed=1)
    assert ci is not None and ci[0] <= 4 / 7 <= ci[1]


def test_pearson_and_spearman_by_hand():
    # centred x = [-1.5,-.5,.5,1.5], y = [-1.5,.5,-.5,1.5]: dot 4, both squared norms 5
    assert M.pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert M.spearman([10, 20, 30, 40], [1, 9, 4, 16]) == pytest.approx(0.8)
    # ties get average ranks: x ranks [1.5, 1.5, 3]; correlation 1.5 / sqrt(1.5 * 2)
    assert M.spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(1.5 / math.sqrt(3.0))
    assert M.rankdata([3, 1, 3, 2]).tolist() == [3.5, 1.0, 3.5, 2.0]
    assert M.pearson([1, 1, 1], [1, 2, 3]) is None  # constant input


def test_pairwise_accuracy_from_scores():
    chosen = [3.0, 2.0, 5.0, None]
    rejected = [1.0, 2.0, 6.0, 1.0]
    assert M.pairwise_accuracy_from_scores(chosen, rejected) == pytest.approx(1 / 4)
    assert M.pairwise_accuracy_from_scores(chosen, rejected, ties_count=0.5) == pytest.approx(1.5 / 4)


def test_percent_formatting():
    assert M.as_percent(0.548) == "54.8" and M.as_percent(None) == "—"


# --- label mappings ---------------------------------------------------------------------------------


def test_genai_votes_and_bothbad_policy():
    assert [L.genai_label(v) for v in ("leftvote", "rightvote", "tievote", "bothbad_vote")] == ["A", "B", "tie", "tie"]
    assert L.genai_label("bothbad_vote", bothbad="exclude") is None
    assert L.genai_label("tievote", bothbad="exclude") == "tie"
    with pytest.raises(L.LabelError, match="leftvote"):
        L.genai_label("left")
    with pytest.raises(L.LabelError):
        L.genai_label("leftvote", bothbad="half")


def test_videogen_values():
    assert [L.videogen_label(v) for v in ("A", "B", "same")] == ["A", "B", "tie"]
    with pytest.raises(L.LabelError, match="TA"):
        L.videogen_label("tie", column="TA")


def test_vlrb_human_ranking_is_the_rank_of_each_response():
    assert L.vlrb_label([0, 1]) == "A"  # response 0 ranked first
    assert L.vlrb_label([1, 0]) == "B"
    with pytest.raises(L.LabelError):
        L.vlrb_label([0, 0])
    with pytest.raises(L.LabelError):
        L.vlrb_label([0, 1, 2])


@pytest.mark.parametrize(("item_id", "image_path", "grouped", "script"), [
    ("RLAIF-V-14", None, "hallucination", "hallucination"),
    ("RLHF-V-3", None, "hallucination", "hallucination"),
    ("hallucination_pair-3921", None, "hallucination", "general"),  # POVID: the UR script misfiles it
    ("hallucination_pair-1", "images/povid/COCO_1.jpg", "hallucination", "general"),
    ("mathverse_3414", None, "reasoning", "reasoning"),
    ("mmmu_pro_test_Energy_and_Power_312", None, "reasoning", "reasoning"),
    ("wildvision-battle-7", None, "general", "general"),
    ("LRVInstruction-000000007746", "images/vlfeedback/LRVInstruction-000000007746.jpg", "general", "general"),
    ("odd-id", "images/rlhf-v/odd.jpg", "hallucination", "general"),  # the folder is authoritative
])
def test_vlrb_categories(item_id, image_path, grouped, script):
    assert L.vlrb_category(item_id, image_path=image_path) == grouped
    assert L.vlrb_category(item_id, image_path=image_path, scheme="unifiedreward_script") == script


def test_mirror():
    assert [L.mirror(x) for x in ("A", "B", "tie", None)] == ["B", "A", "tie", None]
