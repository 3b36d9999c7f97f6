"""Where the judge's QA pairs point: ``understanding.pairs_by_answer`` and its table in the report."""

from __future__ import annotations

from unireward_sdk.records import Candidate, PreferencePair
from unireward_testbed.demo import _understanding_results
from unireward_testbed.report import tables
from unireward_testbed.understanding import PAIR_KINDS, pairs_by_answer
from unireward_testbed.world import Question

GREEN = Question("What colour is the shape?", "green", ("red", "green", "blue", "yellow"), "colour")
LEFT = Question("Where is the shape?", "left", ("left", "right", "top", "bottom"), "position")


def _pair(pid: str, chosen: str, rejected: str) -> PreferencePair:
    return PreferencePair(prompt_id=pid, task="image_understanding", chosen=Candidate(id=f"{pid}-c", text=chosen),
                          rejected=Candidate(id=f"{pid}-r", text=rejected), question="?")


def test_each_pair_is_counted_under_its_gold_answer_by_which_side_is_right():
    truth = {"g1": GREEN, "g2": GREEN, "g3": GREEN, "l1": LEFT, "l2": LEFT}
    pairs = [_pair("g1", "It is yellow.", "It is green."),    # the judge misread green
             _pair("g2", "It is yellow.", "It is green."),
             _pair("g3", "It is green.", "It is blue."),
             _pair("l1", "It is on the top.", "It is on the right."),
             _pair("l2", "It is on the left.", "It is on the left, left.")]
    counts = pairs_by_answer(pairs, truth)
    assert list(counts) == ["green", "left"]
    assert counts["green"] == {"chosen_right": 1, "rejected_right": 2, "both_right": 0, "both_wrong": 0}
    assert counts["left"] == {"chosen_right": 0, "rejected_right": 0, "both_right": 1, "both_wrong": 1}
    assert set(PAIR_KINDS) == set(counts["green"])


def test_the_demo_sums_the_counts_over_seeds_and_the_report_shows_them():
    tasks = ("image_understanding", "video_understanding")

    def seed(by_answer: dict) -> dict:
        agreement = {"pairs": 0, "chosen_better": 0, "equal": 0, "chosen_worse": 0, "precision": None}
        return {"tasks": {t: {"pairs": 0, "dropped": {}, "pair_dir": "p", "agreement": agreement,
                              "distinct_pairs": 0, "candidate_accuracy": None, "by_answer": by_answer}
                          for t in tasks}, "pairs_trained": 0, "note": "not trained"}

    zero = dict.fromkeys(PAIR_KINDS, 0)
    runs = {0: seed({"green": {**zero, "rejected_right": 2}}),
            1: seed({"green": {**zero, "chosen_right": 1}, "left": {**zero, "both_wrong": 3}})}
    before = {t: {"sampled": [0.5], "greedy": [0.5], "examples": []} for t in tasks}
    und = _understanding_results({"objective": "sigmoid + sft", "seeds": [0, 1], "runs": runs, "before": before})
    row = und["tasks"]["image_understanding"]
    assert row["by_answer"]["green"] == {**zero, "chosen_right": 1, "rejected_right": 2}
    assert row["by_answer"]["left"] == {**zero, "both_wrong": 3}

    results = {"understanding": und}
    (table,) = [t for t in tables(results) if t[0].startswith("QA pairs per gold answer")]
    _, header, rows, _ = table
    assert header == ["task", "gold answer", "pairs", "chosen right", "rejected right", "both right", "both wrong"]
    assert ["image understanding", "green", "3", "1", "2", "0", "0"] in rows
    assert ["video understanding", "left", "3", "0", "0", "0", "3"] in rows
    # runs saved before the count existed have no table
    for t in und["tasks"].values():
        t.pop("by_answer")
    assert not [t for t in tables(results) if t[0].startswith("QA pairs per gold answer")]
