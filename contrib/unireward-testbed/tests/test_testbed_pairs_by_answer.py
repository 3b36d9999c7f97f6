"""Where the judge's QA pairs point (``understanding.pairs_by_answer``), how its verdicts stand against its
own checks (``understanding.verdicts_against_checks``), and their tables in the report."""

from __future__ import annotations

from unireward_sdk.records import Candidate, PreferencePair
from unireward_testbed.demo import _understanding_results
from unireward_testbed.report import tables
from unireward_testbed.understanding import PAIR_KINDS, pairs_by_answer, verdicts_against_checks
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
                              "distinct_pairs": 0, "candidate_accuracy": None, "by_answer": by_answer,
                              "checks": {"ranked": 2, "verdict_right": 1, "checks_decisive": 2, "checks_right": 2,
                                         "comparisons": 4, "contradicting": 1}}
                          for t in tasks}, "pairs_trained": 0, "note": "not trained"}

    zero = dict.fromkeys(PAIR_KINDS, 0)
    runs = {0: seed({"green": {**zero, "rejected_right": 2}}),
            1: seed({"green": {**zero, "chosen_right": 1}, "left": {**zero, "both_wrong": 3}})}
    before = {t: {"sampled": [0.5], "greedy": [0.5], "examples": []} for t in tasks}
    und = _understanding_results({"objective": "sigmoid + sft", "seeds": [0, 1], "runs": runs, "before": before})
    row = und["tasks"]["image_understanding"]
    assert row["by_answer"]["green"] == {**zero, "chosen_right": 1, "rejected_right": 2}
    assert row["by_answer"]["left"] == {**zero, "both_wrong": 3}
    assert row["checks"] == {"ranked": 4, "verdict_right": 2, "checks_decisive": 4, "checks_right": 4,
                             "comparisons": 8, "contradicting": 2}

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


def _row(pid: str, texts: list[str], verdicts: list[tuple[str, str | None, str]]) -> dict:
    """A pair dataset's record as ``PairDataset.rows()`` gives it: candidates and the pair-ranking verdicts."""
    return {"prompt_id": pid, "kind": "dropped", "candidates": [{"text": t} for t in texts],
            "record": {"verdicts": [{"item_id": f"{pid}#rank:{ids}", "winner": winner, "raw": raw}
                                    for ids, winner, raw in verdicts]}}


def test_verdicts_are_set_against_the_verdict_the_judges_own_checks_imply():
    truth = {"g1": GREEN, "g2": GREEN, "l1": LEFT}
    rows = [
        _row("g1", ["It is yellow.", "It is green.", "It is green.", "It is red."], [
            # the values are right, but "yellow green yes" contradicts them and the verdict follows the slip
            ("0-1", "A", "Answer 1: yellow green yes\nAnswer 2: green green yes\nAnswer 1 is better."),
            ("2-3", "A", "Answer 1: green green yes\nAnswer 2: red green no\nAnswer 1 is better.")]),
        _row("g2", ["It is green.", "It is blue."], [("0-1", None, "no checks at all")]),
        # both answers wrong: its checks count, the pair has no right verdict
        _row("l1", ["It is on the top.", "It is on the right."], [
            ("0-1", "B", "Answer 1: top left no\nAnswer 2: right left no\nAnswer 2 is better.")]),
    ]
    counts = verdicts_against_checks(rows, truth)
    assert counts == {"ranked": 3, "verdict_right": 1, "checks_decisive": 2, "checks_right": 2,
                      "comparisons": 6, "contradicting": 1}
    # a readout that decided from the checks keeps the judge's own verdict, and that is what is counted
    decided = rows[0]["record"]["verdicts"][0]
    decided.update(winner="B", provenance={"extra": {"readout": "checks", "judge_winner": "A"}})
    assert verdicts_against_checks(rows, truth)["verdict_right"] == 1


def test_the_report_sets_the_judges_verdicts_against_its_checks():
    checks = {"ranked": 396, "verdict_right": 250, "checks_decisive": 368, "checks_right": 360,
              "comparisons": 1889, "contradicting": 813}
    results = {"understanding": {"ci": "95% bootstrap", "tasks": {
        "image_understanding": {"checks": checks}, "video_understanding": {"checks": dict.fromkeys(checks, 0)}}}}
    (table,) = [t for t in tables(results) if t[0].startswith("QA judge: its pair-ranking verdicts")]
    _, _, rows, _ = table
    # a task with no ranked pair (or a run saved before the count existed) has no row
    assert rows == [["image understanding", "396", "63.1% (250 of 396)", "97.8% (360 of 368)",
                     "43.0% (813 of 1889)"]]
