"""The benchmark protocol: each benchmark's figures as its own scorer computes them, on the minimal
examples worked by hand, next to the UnifiedReward scripts' figures on the same verdicts."""

from __future__ import annotations

import json

import pytest
from evaluation_fixtures import ScriptedHead

from unireward_sdk.evaluation import benchmark_info, evaluate_pairwise, summarize
from unireward_sdk.evaluation import metrics as M
from unireward_sdk.evaluation.benchmarks import BenchmarkExample
from unireward_sdk.evaluation.labels import vlrb_category
from unireward_sdk.evaluation.report import build_report, markdown
from unireward_sdk.records import Candidate, JudgeItem, ParseStatus, Provenance, Verdict


def examples(ids, golds, *, task="image_understanding", raw=None, category=None, dims=None):
    out = []
    for k, (item_id, gold) in enumerate(zip(ids, golds)):
        item = JudgeItem(id=item_id, task=task, question="q",
                         candidates=(Candidate(id=f"{item_id}:0", text="first"),
                                     Candidate(id=f"{item_id}:1", text="second")))
        out.append(BenchmarkExample(item=item, label=gold, raw_label=raw[k] if raw else gold,
                                    category=category(item_id) if category else None,
                                    dimension_labels=dims[k] if dims else {}))
    return out


def judge(exs, verdicts, **kw):
    """Judge in published order with a head that answers ``verdicts`` (None: an unparsed failure)."""
    table = {(ex.id, f"{ex.id}:0"): v for ex, v in zip(exs, verdicts)}
    return evaluate_pairwise(ScriptedHead(table), exs, randomize_order=False, **kw)


# --- VL-RewardBench (cal.py) ------------------------------------------------------------------------

ISSUE_IDS = ["RLAIF-V-1", "mathverse_1", "mathverse_2", "wildvision-battle-1", "hallucination_pair-1"]
ISSUE_GOLD = ["A", "B", "A", "A", "A"]
ISSUE_VERDICTS = ["A", None, "A", "B", "A"]


def vlrb_summary(ids, gold, verdicts, **kw):
    info = benchmark_info("vl-rewardbench")
    exs = examples(ids, gold, category=vlrb_category)
    return summarize(judge(exs, verdicts, **kw.pop("judge_kw", {})), info, n_bootstrap=200, **kw)


def test_vlrb_issue_example_benchmark_and_unifiedreward():
    s = vlrb_summary(ISSUE_IDS, ISSUE_GOLD, ISSUE_VERDICTS)
    assert s["protocol"] == "benchmark" and "cal.py" in s["scorer"]
    m = s["metrics"]
    assert m["accuracy"]["value"] == pytest.approx(0.75)
    assert (m["accuracy"]["correct"], m["accuracy"]["n"], m["accuracy"]["excluded"]) == (3, 4, {"failed": 1, "tie": 0})
    assert m["macro_accuracy"]["value"] == pytest.approx(2 / 3)
    cats = s["categories"]
    assert cats["reasoning"]["value"] == 1.0 and cats["reasoning"]["excluded"]["failed"] == 1
    assert (cats["hallucination"]["value"], cats["general"]["value"]) == (1.0, 0.0)
    src = s["protocols"]["benchmark"]["sources"]
    assert (src["rlaif-v"]["value"], src["povid"]["value"], src["reasoning_tasks"]["value"]) == (1.0, 1.0, 1.0)
    assert src["wildvision-battle"]["value"] == 0.0 and src["vlfeedback"]["value"] is None
    # the UnifiedReward script counts the failure as wrong
    ur = s["protocols"]["unifiedreward"]["metrics"]
    assert ur["accuracy"]["value"] == pytest.approx(0.6) and ur["macro_accuracy"]["value"] == pytest.approx(0.5)
    assert s["protocols"]["unifiedreward"]["categories"]["reasoning"]["value"] == pytest.approx(0.5)
    assert summarize(judge(examples(ISSUE_IDS, ISSUE_GOLD, category=vlrb_category), ISSUE_VERDICTS),
                     benchmark_info("vl-rewardbench"), n_bootstrap=200, protocol="unifiedreward")["metrics"] == ur


def test_vlrb_tie_is_left_out_like_a_failure():
    s = vlrb_summary(ISSUE_IDS, ISSUE_GOLD, ["A", "tie", "A", "B", "A"])
    assert s["metrics"]["accuracy"]["value"] == pytest.approx(0.75)
    assert s["metrics"]["accuracy"]["excluded"] == {"failed": 0, "tie": 1}


def test_vlrb_group_with_no_decided_item_is_na_not_a_division_by_zero():
    # both reasoning items unparsed: cal.py would divide by zero; here the group is n/a with its counts
    s = vlrb_summary(ISSUE_IDS, ISSUE_GOLD, ["A", None, "tie", "B", "A"])
    reasoning = s["categories"]["reasoning"]
    assert reasoning["value"] is None and (reasoning["n"], reasoning["items"]) == (0, 2)
    assert reasoning["excluded"] == {"failed": 1, "tie": 1}
    assert s["metrics"]["macro_accuracy"]["value"] is None and s["metrics"]["macro_accuracy"]["ci"] is None
    assert s["metrics"]["accuracy"]["value"] == pytest.approx(2 / 3)
    md = markdown(build_report(s, benchmark_info("vl-rewardbench"), {"model": "m"}))
    assert "| reasoning | n/a | — | 0 / 0; left out: 1 failed, 1 tie |" in md
    assert "left out: 1 failed, 1 tie" in md.split("## Categories")[0]


def test_vlrb_majority_voting_over_k_samples():
    class Sampler(ScriptedHead):
        """Answers from a per-item list of k verdicts, one per call."""

        def __init__(self, answers):
            super().__init__()
            self.answers, self.rounds = answers, 0

        def judge_pairwise(self, items):
            out = [Verdict(item_id=it.id, winner=self.answers[it.id][self.rounds], raw="x")
                   if self.answers[it.id][self.rounds] else
                   Verdict.failure(it.id, ParseStatus.UNPARSED, "no verdict") for it in items]
            self.rounds += 1
            return out

    answers = {  # gold A everywhere
        "RLAIF-V-1": ["A", "B", "A"],          # k=1 agree, k=3 agree (2 of 3)
        "mathverse_1": ["B", "A", "A"],        # k=1 reject, k=3 agree
        "wildvision-battle-1": [None, "A", "B"],  # k=1 unparsed, k=3 other (1 / 1 / 1)
        "LRV-1": ["A", None, None],            # k=1 agree, k=3 unparsed (2 of 3)
    }
    exs = examples(list(answers), ["A"] * 4)
    judged = evaluate_pairwise(Sampler(answers), exs, randomize_order=False, samples=3)
    assert [len(j.extra_samples) for j in judged] == [2] * 4
    # "first": the first k judgments of each item in judging order
    s = summarize(judged, benchmark_info("vl-rewardbench"), n_bootstrap=0, majority_selection="first")
    major = s["protocols"]["benchmark"]["majority"]
    assert list(major) == ["1", "3"]
    assert major["1"]["counts"] == {"agree": 2, "reject": 1, "unparsed": 1, "other": 0}
    assert major["3"]["counts"] == {"agree": 2, "reject": 0, "unparsed": 1, "other": 1}
    assert major["1"]["accuracy"] == pytest.approx(2 / 3) and major["3"]["accuracy"] == 1.0
    assert major["3"]["groups"] == {"general": None, "hallucination": 1.0, "reasoning": 1.0}
    assert s["samples"] == 3 and s["metrics"]["accuracy"]["value"] == major["1"]["accuracy"]

    # "cal.py" (the default): the 12 records item by item (RLAIF 0-2, mathverse 3-5, wildvision 6-8, LRV 9-11),
    # shuffled as cal.py's main shuffles them; k = 1 counts each item's first record in the shuffled order
    order = cal_py_shuffle_orders(12, [1, 3])[1]
    first = {}
    for position in order:
        first.setdefault(position // 3, position % 3)
    picked = [answers[item_id][first[i]] for i, item_id in enumerate(answers)]
    s = summarize(judged, benchmark_info("vl-rewardbench"), n_bootstrap=0)
    major = s["protocols"]["benchmark"]["majority"]
    assert major["1"]["counts"]["agree"] == picked.count("A") and major["1"]["counts"]["reject"] == picked.count("B")
    assert major["1"]["counts"]["unparsed"] == picked.count(None)
    # every record of an item is counted at k = 3, in whatever order: the same table as "first"
    assert major["3"]["counts"] == {"agree": 2, "reject": 0, "unparsed": 1, "other": 1}
    assert "random.seed(1234)" in s["protocols"]["benchmark"]["majority_selection"]


def cal_py_shuffle_orders(n: int, ks):
    """cal.py's main, written from its code: random.seed(1234) once; per k, shuffle_data on a fresh record list."""
    import random

    random.seed(1234)
    orders = {}
    for k in ks:
        data = list(range(n))
        for i in range(len(data)):
            j = random.randint(0, len(data) - 1)
            data[i], data[j] = data[j], data[i]
        orders[k] = data
    return orders


def test_cal_py_shuffle_is_reproduced_exactly():
    from unireward_sdk.evaluation.protocols import cal_py_orders

    for n in (1, 2, 7, 40):
        assert cal_py_orders(n, [1, 3, 5, 7, 9]) == cal_py_shuffle_orders(n, [1, 3, 5, 7, 9])
    # a shorter k list (a run with fewer samples) gives the same orders for the k it has
    assert cal_py_orders(12, [1, 3]) == {k: v for k, v in cal_py_shuffle_orders(12, [1, 3, 5]).items() if k < 5}


# --- VideoGen-RewardBench (VideoAlign, w/ Ties tie-calibrated) -----------------------------------------


def videogen(golds, verdicts, **kw):
    exs = examples([f"v{i}" for i in range(len(golds))], golds, task="video_generation", **kw)
    return exs, summarize(judge(exs, verdicts), benchmark_info("videogen-rewardbench"), n_bootstrap=100)


def test_videogen_issue_examples_tie_calibrated():
    _, s = videogen(["A", "B", "tie"], ["A", "B", "A"])
    assert s["metrics"]["tau"]["value"] == pytest.approx(1 / 3)
    assert s["protocols"]["unifiedreward"]["metrics"]["tau"]["value"] == pytest.approx(2 / 3)
    assert s["metrics"]["tau"]["order_dependent"] is True
    _, s = videogen(["tie", "A"], ["A", "tie"])
    assert s["metrics"]["tau"]["value"] == pytest.approx(0.5)
    assert s["protocols"]["unifiedreward"]["metrics"]["tau"]["value"] == 0.0
    # w/o Ties is the same in both protocols for a verdict head
    assert s["metrics"]["diff"]["value"] == s["protocols"]["unifiedreward"]["metrics"]["diff"]["value"] == 0.0


def test_videogen_verdict_head_result_depends_on_item_order():
    _, forward = videogen(["A", "B", "tie"], ["A", "B", "A"])
    _, backward = videogen(["tie", "B", "A"], ["A", "B", "A"])  # the same three pairs, tie item first
    assert forward["metrics"]["tau"]["value"] == pytest.approx(1 / 3)
    # first in line, the tie item becomes the one judge tie and both decisive pairs stay right
    assert backward["metrics"]["tau"]["value"] == 1.0


class RewardHead:
    """A scalar head: rewards per item id (A's, B's) and optional per-dimension scores, recorded as a
    scalar head records them."""

    name = "rewards"

    def __init__(self, rewards, dims=None):
        self.rewards, self.dims = rewards, dims or {}

    def judge_pairwise(self, items):
        out = []
        for it in items:
            a, b = self.rewards[it.id]
            dims = self.dims.get(it.id, {})
            if it.candidates[0].id.endswith(":1"):  # shown swapped
                a, b = b, a
                dims = {k: (y, x) for k, (x, y) in dims.items()}
            winner = "A" if a > b else ("B" if b > a else "tie")
            out.append(Verdict(item_id=it.id, winner=winner, raw="", dimension_scores=dims,
                               provenance=Provenance(extra={"rewards": (a, b)})))
        return out


def test_videogen_reward_head_calibrates_a_threshold_and_scores_dimensions():
    golds = ["A", "tie", "B", "tie", "A"]
    rewards = {"v0": (2.0, 0.0), "v1": (0.1, 0.0), "v2": (0.0, 1.5), "v3": (0.0, 0.2), "v4": (0.3, 0.0)}
    dims = [{"VQ": "B", "TA": "A"}] * 5
    dim_scores = {k: {"visual_quality": (0.0, 1.0), "alignment": (1.0, 0.0)} for k in rewards}
    exs = examples(list(rewards), golds, task="video_generation", dims=dims)
    for seed in (0, 3):  # the presentation order does not change the figures
        s = summarize(evaluate_pairwise(RewardHead(rewards, dim_scores), exs, seed=seed),
                      benchmark_info("videogen-rewardbench"), n_bootstrap=50)
        # margins 2, .1, -1.5, -.2, .3: a threshold of 0.2 makes both tie items ties and keeps the rest
        assert s["metrics"]["tau"]["value"] == 1.0 and s["metrics"]["tau"]["epsilon"] == pytest.approx(0.2)
        assert s["protocols"]["unifiedreward"]["metrics"]["tau"]["value"] == pytest.approx(3 / 5)
        assert s["protocols"]["benchmark"]["margin_sources"] == {"rewards": 5}
        assert s["dimensions"]["VQ"]["margin_source"] == "dimension_scores"
        assert s["dimensions"]["VQ"]["diff"] == 1.0 and s["dimensions"]["TA"]["diff"] == 1.0


def test_videogen_failures_are_left_out_of_tau_and_counted():
    _, s = videogen(["A", "B", "tie", "A"], ["A", "B", "tie", None])
    tau = s["metrics"]["tau"]
    assert tau["value"] == 1.0 and tau["n"] == 3 and tau["excluded"] == {"failed": 1}
    assert tau["value_failures_counted_wrong"] == pytest.approx(3 / 4)
    assert s["metrics"]["diff"]["value"] == pytest.approx(2 / 3)  # the failure stays wrong here


# --- GenAI-Bench (inference.py, four-way votes) --------------------------------------------------------


class RawHead:
    name = "raw"

    def __init__(self, answers):
        self.answers = answers

    def judge_pairwise(self, items):
        out = []
        for it in items:
            raw = self.answers[it.id]
            winner = {"[[A>B]]": "A", "[[B>A]]": "B"}.get(raw, "tie")
            out.append(Verdict(item_id=it.id, winner=winner, raw=f"Reasoning... {raw}"))
        return out


def test_genai_four_way_ties_count_only_on_their_own_vote():
    votes = ["leftvote", "tievote", "bothbad_vote", "tievote", "bothbad_vote", "rightvote"]
    gold = {"leftvote": "A", "rightvote": "B", "tievote": "tie", "bothbad_vote": "tie"}
    exs = examples([f"g{i}" for i in range(6)], [gold[v] for v in votes], task="image_generation", raw=votes)
    answers = {"g0": "[[A>B]]", "g1": "[[A=B=Good]]", "g2": "[[A=B=Good]]", "g3": "[[A=B]]", "g4": "[[A=B=Bad]]",
               "g5": "[[A>B]]"}
    s = summarize(evaluate_pairwise(RawHead(answers), exs, randomize_order=False), benchmark_info("genai-bench-image"),
                  n_bootstrap=50)
    acc = s["metrics"]["accuracy"]
    assert (acc["correct"], acc["n"]) == (4, 6) and acc["four_way_ties"] == {"good": 2, "bad": 1}
    # per vote: both tievotes right (Good, plain); of the bothbad votes only [[A=B=Bad]]; rightvote wrong
    assert {v: (f["correct"], f["n"]) for v, f in s["per_label"].items()} == {
        "leftvote": (1, 1), "tievote": (2, 2), "bothbad_vote": (1, 2), "rightvote": (0, 1)}
    # collapsed to three-way, the UnifiedReward figures call every tie right on a tie item
    assert s["protocols"]["unifiedreward"]["metrics"]["tau"]["correct"] == 5


def test_report_prints_one_protocol_and_holds_both(tmp_path):
    from unireward_sdk.evaluation import write_report

    info = benchmark_info("videogen-rewardbench")
    exs = examples(["v0", "v1", "v2"], ["A", "B", "tie"], task="video_generation")
    judged = judge(exs, ["A", "B", "A"])
    for protocol in ("benchmark", "unifiedreward"):
        report = build_report(summarize(judged, info, n_bootstrap=20, protocol=protocol), info, {"model": "m"})
        files = write_report(tmp_path / protocol, report, judged, plots=False)
        doc = json.loads(files["report.json"].read_text())
        assert doc["protocol"] == protocol and set(doc["protocols"]) == {"benchmark", "unifiedreward"}
        md = files["report.md"].read_text()
        assert f"**{protocol}** protocol" in md
        shown = [p["judge"] for p in doc["published"] if p["protocol"] == protocol]
        assert all(f"| {judge} |" in md for judge in shown)
        assert not any(f"| {p['judge']} |" in md for p in doc["published"] if p["protocol"] != protocol)
    with pytest.raises(Exception, match="unknown protocol"):
        summarize(judged, info, protocol="paper")


def test_metric_functions_on_the_issue_examples():
    assert M.tie_calibrated_accuracy(["A", "B", "tie"], [1, -1, 1])["value"] == pytest.approx(1 / 3)
    assert M.tie_calibrated_accuracy(["tie", "A"], [1, 0])["value"] == pytest.approx(0.5)
    assert M.tie_calibrated_accuracy([], []) is None
    t = M.grouped_agreement(["agree", "unparsed", "agree", "reject", "agree"],
                            ["hallucination", "reasoning", "reasoning", "general", "hallucination"],
                            required=("general", "hallucination", "reasoning"))
    assert (t["overall"], t["macro"], t["groups"]["reasoning"]["value"]) == (0.75, pytest.approx(2 / 3), 1.0)
    assert M.majority_outcome(["agree", "reject"]) == "other"
    assert M.genai_vote_correct("tie", "bothbad_vote", "good") is False
    assert M.genai_vote_correct("tie", "bothbad_vote") is True


def test_majority_with_an_even_number_of_samples_counts_all_of_them_last():
    from unireward_sdk.evaluation.protocols import vlrb_majority

    # one item, gold A, four judgments A, B, B, A: k = 1 and 3 follow cal.py's first two shuffles of the four
    # records; the added k = 4 row counts all four (2 agree, 2 reject: a split vote, "other")
    samples, golds, groups = [["A", "B", "B", "A"]], ["A"], ["general"]
    table = vlrb_majority(samples, golds, groups, 4)
    assert list(table) == ["1", "3", "4"]
    orders = cal_py_shuffle_orders(4, [1, 3])
    assert table["1"]["counts"]["agree"] == (samples[0][orders[1][0]] == "A")
    three = [samples[0][i] for i in orders[3][:3]]
    assert table["3"]["counts"]["agree"] == (three.count("A") >= 2)
    assert table["4"]["counts"] == {"agree": 0, "reject": 0, "unparsed": 0, "other": 1}
    with pytest.raises(Exception, match="unknown majority selection"):
        vlrb_majority(samples, golds, groups, 4, selection="random")
