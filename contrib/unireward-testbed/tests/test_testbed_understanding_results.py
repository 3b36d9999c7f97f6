"""How the demo summarises the understanding stage over policy seeds (``demo._understanding_results``)."""

from __future__ import annotations

import pytest

from unireward_testbed.demo import _understanding_results

TASKS = ("image_understanding", "video_understanding")


def _agreement(better: int, equal: int, worse: int) -> dict:
    return {"pairs": better + equal + worse, "chosen_better": better, "equal": equal, "chosen_worse": worse,
            "precision": better / (better + equal + worse) if better + equal + worse else None, "flags": [1] * better + [0] * (equal + worse)}


def _seed_run(after: list[float], sft: list[float], pairs: int, better: int) -> dict:
    tasks = {t: {"pairs": pairs, "dropped": {"chosen_not_better": 2}, "pair_dir": f"pairs/{t}",
                 "agreement": _agreement(better, 0, pairs - better), "distinct_pairs": pairs,
                 "candidate_accuracy": 0.5} for t in TASKS}
    figures = {t: {"sampled": after, "greedy": after, "examples": []} for t in TASKS}
    sft_figures = {t: {"sampled": sft, "greedy": sft, "examples": []} for t in TASKS}
    return {"tasks": tasks, "pairs_trained": 2 * pairs, "train": {"steps": 4}, "after": figures,
            "sft_train": {"steps": 4}, "sft": sft_figures}


def _und(runs: dict) -> dict:
    before = {t: {"sampled": [0.0, 0.5, 0.5, 1.0], "greedy": [0.0, 0.5, 0.5, 1.0], "examples": []} for t in TASKS}
    return {"objective": "sigmoid + sft", "seeds": list(runs), "runs": runs, "before": before, "held_out": "yes"}


def test_every_seed_counts_against_the_same_held_out_questions():
    runs = {0: _seed_run([0.25, 0.75, 0.75, 1.0], [0.0, 0.5, 0.5, 1.0], pairs=4, better=3),
            1: _seed_run([0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0], pairs=6, better=3)}
    results = _understanding_results(_und(runs))
    assert results["ci"] == "95% two-level bootstrap over 2 seeds and held-out questions"
    row = results["tasks"]["image_understanding"]
    # seed 0 gains 0.1875 on average, seed 1 nothing: the mean over seeds is half of seed 0's gain
    assert row["sampled_delta"]["mean"] == pytest.approx(0.1875 / 2)
    assert row["sampled_delta"]["n_seeds"] == 2 and row["sampled_delta"]["per_seed"] == pytest.approx([0.1875, 0.0])
    assert row["sampled_sft_delta"]["mean"] == pytest.approx(0.0)
    # pair counts and the oracle's agreement are summed over seeds, and kept per seed
    assert row["pairs"] == 10 and row["pairs_per_seed"] == [4, 6]
    assert row["agreement"]["chosen_better"] == 6 and row["agreement"]["precision"] == pytest.approx(0.6)
    assert row["dropped"] == {"chosen_not_better": 4}
    assert results["pairs_trained"] == [8, 12]
    names = [c["claim"] for c in results["claims"]]
    assert names == ["DPO improves image understanding (sampled-answer accuracy)",
                     "image understanding: DPO > SFT on the chosen answers (sampled-answer accuracy)",
                     "DPO improves video understanding (sampled-answer accuracy)",
                     "video understanding: DPO > SFT on the chosen answers (sampled-answer accuracy)"]


def test_a_seed_without_pairs_is_reported_and_left_out_of_the_deltas():
    untrained = {"tasks": _seed_run([0.0] * 4, [0.0] * 4, pairs=0, better=0)["tasks"], "pairs_trained": 0,
                 "note": "no pair with two different answers was kept, so the policy was not trained"}
    runs = {0: _seed_run([0.25, 0.75, 0.75, 1.0], [0.0, 0.5, 0.5, 1.0], pairs=4, better=3), 1: untrained}
    results = _understanding_results(_und(runs))
    assert results["note"] == "seed 1: no pair with two different answers was kept, so the policy was not trained"
    assert results["tasks"]["video_understanding"]["sampled_delta"]["n_seeds"] == 1
