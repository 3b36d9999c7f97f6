"""Which strategies' pairs train a policy: a profile may build and score pairs it does not train on, and the
report still shows their precision and says why they have no policy."""

from __future__ import annotations

import pytest

from unireward_testbed import generation
from unireward_testbed.demo import PROFILES
from unireward_testbed.report import _stopping, tables


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_trains_the_method_and_only_strategies_it_builds(name):
    profile = PROFILES[name]
    for strategies, trained in ((profile.t2i_strategies, profile.t2i_trained_strategies),
                                (profile.t2v_strategies, profile.t2v_trained_strategies)):
        trained = strategies if trained is None else trained
        assert "two_stage" in trained and set(trained) <= set(strategies)


def test_a_trained_strategy_the_run_does_not_build_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must be among the strategies"):
        generation.run(setting=generation.VIDEO, policy="unused", judge=None, out_dir=tmp_path, seeds=[0],
                       strategies=("two_stage",), n_prompts=2, n_candidates=2, eval_samples=1,
                       aligner_options={"max_steps": 1}, registry=None, trained_strategies=("random",))


def test_the_ablation_shows_an_untrained_strategys_precision_and_the_checks_each_run_kept():
    figure = {"mean": 0.5, "ci": [0.4, 0.6], "n_units": 16}
    gen = {
        "before": figure, "ci": "95% bootstrap", "stop_on": "loss", "max_steps": 30, "eval": "16 held-out captions",
        "pair_precision": {"random": {"mean": 0.25, "ci": [0.1, 0.4]}, "two_stage": {"mean": 0.75, "ci": [0.6, 0.9]}},
        "strategies": {
            "random": {"status": "not trained (pairs built to measure their precision only: this profile does not "
                                 "train on them)", "pairs": [16], "judge_answers": {}},
            "two_stage": {"after": figure, "vs_before": {"mean": 0.0, "ci": [0.0, 0.0]}, "pairs": [16],
                          "judge_answers": {}, "stopped": [{"kept_step": 0, "steps_run": 12}]},
            "sft_on_chosen": {"after": figure, "vs_before": {"mean": -0.04, "ci": [-0.1, 0.0]}, "pairs": [16],
                              "judge_answers": {}, "stopped": [{"kept_step": 30, "steps_run": 30}]},
        },
    }
    (table,) = [t for t in tables({"video_generation": gen}) if t[0].startswith("Data-selection ablation")]
    random_row = table[2][1]
    assert random_row[0] == "random pairs" and random_row[1].startswith("not trained")
    assert random_row[3].startswith("25.0") and random_row[3].endswith("of 16")  # scored though not trained
    assert _stopping(gen) == ("at most 30 steps, stopped on the held-out pairs' loss (weights kept from step: "
                              "two-stage 0, SFT 30; at step 0 the policy is the pretrained one and its evaluation "
                              "is the one before training)")
    assert _stopping({**gen, "stop_on": "budget", "max_steps": 40}) == "40 steps on every pair (no early stopping)"
