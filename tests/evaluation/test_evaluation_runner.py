"""Judging with fake heads: order randomisation, both orders, symmetric heads, failures; figures by hand."""

from __future__ import annotations

import pytest
from evaluation_fixtures import ScriptedHead, oracle, write_jsonl

from unireward_sdk.errors import UniRewardError
from unireward_sdk.evaluation import benchmark_info, evaluate_pairwise, load_benchmark, present, summarize
from unireward_sdk.evaluation.labels import mirror
from unireward_sdk.records import ParseStatus, Verdict


def gold_by_candidate(examples):
    """candidate id -> the gold label when that candidate is shown first (an oracle's knowledge)."""
    table = {}
    for ex in examples:
        a, b = ex.item.candidates
        table[a.id], table[b.id] = ex.label, mirror(ex.label)
    return table


@pytest.fixture
def genai(genai_image_jsonl):
    return load_benchmark("genai-bench-image", genai_image_jsonl)


def test_order_randomisation_is_seeded_and_mirrors_labels(genai):
    examples = list(genai.examples) * 4  # 24 presentations: enough for two seeds to differ
    first = present(examples, seed=3)
    assert [s for _, s, _, _ in first] == [s for _, s, _, _ in present(examples, seed=3)]
    assert [s for _, s, _, _ in first] != [s for _, s, _, _ in present(examples, seed=4)]
    assert 0 < sum(s for _, s, _, _ in first) < len(examples)
    for ex, swapped, item, gold in first:
        if swapped:
            assert item.candidates == ex.item.candidates[::-1] and gold == mirror(ex.label)
        else:
            assert item == ex.item and gold == ex.label
    assert not any(s for _, s, _, _ in present(examples, seed=3, randomize=False))


def test_an_oracle_is_always_right_whatever_the_order(genai):
    head = ScriptedHead(default=oracle(gold_by_candidate(genai.examples)))
    judged = evaluate_pairwise(head, genai.examples, seed=1)
    assert any(j.swapped for j in judged) and not all(j.swapped for j in judged)
    s = summarize(judged, genai.info, n_bootstrap=200, protocol="unifiedreward")
    assert s["protocols"]["benchmark"]["metrics"]["accuracy"]["value"] == 1.0
    assert s["metrics"]["tau"]["value"] == 1.0 and s["metrics"]["diff"]["value"] == 1.0
    assert s["metrics"]["tau"]["ci"] == [1.0, 1.0]


def test_first_position_judge_by_hand(genai):
    # published order kept: gold A, B, tie, tie(bothbad), A, B; the judge always says A
    judged = evaluate_pairwise(ScriptedHead(default="A"), genai.examples, randomize_order=False, both_orders=True)
    s = summarize(judged, genai.info, n_bootstrap=200, seed=5, protocol="unifiedreward")
    m = s["metrics"]
    assert m["tau"]["value"] == pytest.approx(2 / 6) and (m["tau"]["correct"], m["tau"]["n"]) == (2, 6)
    assert m["diff"]["value"] == pytest.approx(2 / 4) and (m["diff"]["correct"], m["diff"]["n"]) == (2, 4)
    assert m["tau_ties_counted_wrong"]["value"] == pytest.approx(2 / 6)
    bias = s["position_bias"]
    assert bias["a_preference_rate"] == 1.0 and bias["gold_a_rate"] == pytest.approx(0.5)
    # judged again with A and B exchanged it still says A: never consistent
    assert bias["swap_consistency"] == 0.0 and bias["swap_consistency_source"] == "both_orders"
    assert bias["reverse_order_tau"] == pytest.approx(2 / 6)  # now it picks the published B
    assert s["per_label"]["bothbad_vote"] == {"value": 0.0, "ci": None, "correct": 0, "n": 1}
    assert s["per_label"]["leftvote"]["value"] == 1.0
    assert s["confusion"] == {"A": {"A": 2, "B": 0, "tie": 0, "failed": 0},
                              "B": {"A": 2, "B": 0, "tie": 0, "failed": 0},
                              "tie": {"A": 2, "B": 0, "tie": 0, "failed": 0}}
    # same seed, same intervals
    assert summarize(judged, genai.info, n_bootstrap=200, seed=5, protocol="unifiedreward")["metrics"] == m


def test_symmetric_wrapper_gives_order_winners_and_ties_on_disagreement(genai):
    from unireward_sdk.judging import Symmetric

    judged = evaluate_pairwise(Symmetric(ScriptedHead(default="A")), genai.examples, seed=0)
    s = summarize(judged, genai.info, n_bootstrap=100, protocol="unifiedreward")
    assert {j.prediction for j in judged} == {"tie"}  # the two orders always disagree -> tie
    assert s["metrics"]["tau"]["value"] == pytest.approx(2 / 6)  # right only on the two tie items
    assert s["metrics"]["diff"]["value"] == 0.0
    bias = s["position_bias"]
    assert bias["swap_consistency"] == 0.0 and bias["swap_consistency_source"] == "symmetric_head"
    assert bias["a_preference_rate_per_order"] == 1.0


def test_vlrb_categories_macro_and_failures_by_hand(vlrb_jsonl):
    bench = load_benchmark("vl-rewardbench", vlrb_jsonl)
    # gold (published order): A B | A B | A B for hallucination | reasoning | general
    table = {("RLAIF-V-14", "RLAIF-V-14:0"): "A", ("hallucination_pair-3921", "hallucination_pair-3921:0"): "B",
             ("mathverse_3414", "mathverse_3414:0"): "B", ("mmmu_pro_test_Energy_and_Power_312",
                                                           "mmmu_pro_test_Energy_and_Power_312:0"): None,
             ("wildvision-battle-7", "wildvision-battle-7:0"): "A",
             ("LRVInstruction-000000007746", "LRVInstruction-000000007746:0"): "A"}
    judged = evaluate_pairwise(ScriptedHead(table), bench.examples, randomize_order=False)
    s = summarize(judged, bench.info, n_bootstrap=300, seed=0, protocol="unifiedreward")
    cats = s["categories"]
    assert list(cats) == ["general", "hallucination", "reasoning"]
    assert (cats["hallucination"]["value"], cats["reasoning"]["value"], cats["general"]["value"]) == (1.0, 0.0, 0.5)
    assert s["metrics"]["accuracy"]["value"] == pytest.approx(3 / 6)
    assert s["metrics"]["macro_accuracy"]["value"] == pytest.approx((1.0 + 0.0 + 0.5) / 3)
    assert s["failures"]["count"] == 1 and s["failures"]["by_status"] == {ParseStatus.UNPARSED: 1}
    assert s["failures"]["examples"][0]["id"] == "mmmu_pro_test_Energy_and_Power_312"
    assert s["failures"]["examples"][0]["raw"] == "gibberish"
    assert s["confusion"]["B"]["failed"] == 1
    lo, hi = s["metrics"]["macro_accuracy"]["ci"]
    assert lo <= 0.5 <= hi


def test_videogen_dimensions_follow_the_order_flip(videogen_csv):
    bench = load_benchmark("videogen-rewardbench", videogen_csv)
    plain = summarize(evaluate_pairwise(ScriptedHead(default="A"), bench.examples, randomize_order=False),
                      bench.info, n_bootstrap=50, protocol="unifiedreward")
    # VQ gold A,B,tie,B -> tau 1/4, diff 1/3; MQ B,B,A,A -> 2/4, 2/4; TA tie,A,B,A -> 2/4, 2/3
    dims = plain["dimensions"]
    assert (dims["VQ"]["tau"], dims["VQ"]["diff"]) == (pytest.approx(1 / 4), pytest.approx(1 / 3))
    assert (dims["MQ"]["tau"], dims["MQ"]["diff"]) == (pytest.approx(2 / 4), pytest.approx(2 / 4))
    assert (dims["TA"]["tau"], dims["TA"]["diff"], dims["TA"]["n_ties"]) == (pytest.approx(2 / 4), pytest.approx(2 / 3), 1)
    # an oracle on Overall scores the same on every column whatever the presentation order
    head = ScriptedHead(default=oracle(gold_by_candidate(bench.examples)))
    a = summarize(evaluate_pairwise(head, bench.examples, randomize_order=False), bench.info, n_bootstrap=50,
                  protocol="unifiedreward")
    b = summarize(evaluate_pairwise(head, bench.examples, seed=11), bench.info, n_bootstrap=50,
                  protocol="unifiedreward")
    assert a["dimensions"] == b["dimensions"] and a["metrics"]["tau"]["value"] == 1.0


def test_head_errors_are_recorded_unless_fail_fast(genai):
    class Broken:
        name = "broken"

        def judge_pairwise(self, items):
            raise RuntimeError("CUDA out of memory")

    judged = evaluate_pairwise(Broken(), genai.examples, chunk_size=4)
    assert {j.verdict.status for j in judged} == {ParseStatus.BACKEND_ERROR}
    assert "CUDA out of memory" in judged[0].verdict.error and "broken" in judged[0].verdict.error
    with pytest.raises(RuntimeError):
        evaluate_pairwise(Broken(), genai.examples, fail_fast=True)


def test_contract_violations_are_errors(genai):
    class Short:
        name = "short"

        def judge_pairwise(self, items):
            return [Verdict(item_id=items[0].id, winner="A")]

    class Shuffled:
        name = "shuffled"

        def judge_pairwise(self, items):
            return [Verdict(item_id=it.id, winner="A") for it in reversed(items)]

    with pytest.raises(UniRewardError, match="short.*one verdict per item"):
        evaluate_pairwise(Short(), genai.examples)
    with pytest.raises(UniRewardError, match="shuffled"):
        evaluate_pairwise(Shuffled(), genai.examples)


def test_heads_per_task_and_progress(tmp_path):
    rows = [{"id": f"p{i}", "task": "image_understanding" if i % 2 else "video_understanding",
             "question": "q", "a": "x", "b": "y", "label": "A"} for i in range(5)]
    bench = load_benchmark("pairwise-jsonl", write_jsonl(tmp_path / "p.jsonl", rows))
    image_head, video_head = ScriptedHead(default="A"), ScriptedHead(default="B")
    seen = []
    judged = evaluate_pairwise({"image_understanding": image_head, "video_understanding": video_head},
                               bench.examples, randomize_order=False, chunk_size=2,
                               progress=lambda done, total: seen.append((done, total)))
    assert sorted(i for call in image_head.calls for i in call) == ["p1", "p3"]
    assert sorted(i for call in video_head.calls for i in call) == ["p0", "p2", "p4"]
    assert [j.prediction for j in judged] == ["B", "A", "B", "A", "B"]
    assert seen == [(2, 5), (3, 5), (5, 5)]  # chunks of at most 2 per task: video 2 + 1, image 2
    s = summarize(judged, benchmark_info("pairwise-jsonl"), n_bootstrap=50)
    assert s["metrics"]["tau"]["value"] == pytest.approx(2 / 5)
