"""Early stopping of the generation runs: which check's weights are kept, by each criterion."""

from __future__ import annotations

import types

import pytest

torch = pytest.importorskip("torch")

from unireward_sdk.alignment import EvalResult, StepMetrics, TrainSummary  # noqa: E402
from unireward_testbed.generation import STOP_CRITERIA, evaluate_after, train_with_early_stopping  # noqa: E402


class ScriptedAligner:
    """An aligner whose training adds 1 to its weight and whose held-out figures follow a script (one
    entry per check, step 0 first), so the kept weight says which check won."""

    def __init__(self, script: list[tuple[float, float, float]]):
        self.unet = torch.nn.Linear(1, 1, bias=False)
        torch.nn.init.zeros_(self.unet.weight)
        self.config = types.SimpleNamespace(max_steps=0)
        self.script = list(script)

    def train(self, pairs):
        with torch.no_grad():
            self.unet.weight += 1
        step = StepMetrics(step=1, loss=0.5, margin=0.1, accuracy=1.0, learning_rate=1e-4)
        return TrainSummary(aligner="scripted", steps=self.config.max_steps, pairs=len(pairs), history=[step])

    def evaluate(self, pairs, *, seed=0, repeats=1):
        loss, margin, accuracy = self.script.pop(0)
        return EvalResult(loss=loss, margin=margin, accuracy=accuracy, pairs=len(pairs))


# the held-out loss rises while the mean margin and the accuracy improve: margins spreading out
SPREADING = [(0.693, 0.0, 0.50), (0.72, 0.05, 0.55), (0.75, 0.09, 0.62), (0.80, 0.08, 0.60), (0.85, 0.07, 0.58),
             (0.90, 0.06, 0.55)]


@pytest.mark.parametrize("stop_on, kept", [("loss", 0), ("margin", 2), ("accuracy", 2)])
def test_each_criterion_keeps_its_best_check(stop_on, kept):
    aligner = ScriptedAligner(SPREADING)
    out = train_with_early_stopping(aligner, ["p"] * 8, ["v"] * 4, max_steps=50, checks=5, patience=2,
                                    stop_on=stop_on)
    assert out["kept_step"] == kept * 10
    assert aligner.unet.weight.item() == kept  # the kept check's weights are restored
    assert out["stop_on"] == stop_on
    assert [p["step"] for p in out["curve"]] == [10 * i for i in range(len(out["curve"]))]
    assert set(out["curve"][0]) == {"step", "val_loss", "val_margin", "val_accuracy"}


def test_patience_stops_the_run_after_checks_without_improvement():
    aligner = ScriptedAligner(SPREADING)
    out = train_with_early_stopping(aligner, ["p"] * 8, ["v"] * 4, max_steps=50, stop_on="margin", patience=2)
    assert out["steps_run"] == 40  # best at 20, then 30 and 40 without improvement


def test_no_held_out_pairs_trains_the_whole_budget():
    aligner = ScriptedAligner([])
    out = train_with_early_stopping(aligner, ["p"] * 8, [], max_steps=50, stop_on="margin")
    assert out["kept_step"] == 50 and out["stop_on"] is None
    assert aligner.unet.weight.item() == 5


def test_unknown_criterion_is_refused():
    with pytest.raises(ValueError, match="stop_on must be one of"):
        train_with_early_stopping(ScriptedAligner([]), ["p"], ["v"], max_steps=1, stop_on="oracle")
    assert set(STOP_CRITERIA) == {"loss", "margin", "accuracy"}


class CountingEvaluator:
    def __init__(self):
        self.calls = []

    def __call__(self, aligner, tag):
        self.calls.append(tag)
        return {"per_prompt": [1.0]}


def test_a_run_that_kept_step_0_reuses_the_evaluation_before_training():
    before = {"per_prompt": [0.5]}
    evaluator = CountingEvaluator()
    assert evaluate_after(evaluator, object(), "two_stage-seed0", {"kept_step": 0}, before) == (before, "before")
    assert evaluator.calls == []
    assert evaluate_after(evaluator, object(), "two_stage-seed0", {"kept_step": 6}, before) == (
        {"per_prompt": [1.0]}, "sampled")
    assert evaluator.calls == ["two_stage-seed0"]


def test_weights_restored_to_step_0_sample_exactly_what_the_pretrained_policy_sampled(tmp_path):
    """The premise of that reuse, on the shipped video policy: a run that trained, was measured worse and
    restored its step-0 weights draws the pretrained policy's clips, pixel for pixel."""
    from unireward_sdk.registry import get_registry
    from unireward_testbed import checkpoints as C
    from unireward_testbed.demo import PROFILES
    from unireward_testbed.generation import VIDEO, Evaluator, aligner_settings
    options = {**aligner_settings(PROFILES["smoke"].t2v_options), "lora": False}
    options.pop("max_steps")

    def make(name):
        return get_registry().aligner("video_diffusion_dpo", model=str(C.require("t2v_policy")),
                                      output_dir=str(tmp_path / name), seed=0, **options)

    evaluator = Evaluator(VIDEO.truths[:2], 1, tmp_path / "eval", steps=2, guidance=1.0)
    before = evaluator(make("pretrained"), "before")
    run = make("run")

    moved = []

    def train(pairs):  # stands in for a DPO step: it moves every weight, and the samples with them
        with torch.no_grad():
            for p in run.unet.parameters():
                p.add_(0.05 * torch.randn_like(p))
        moved.append(evaluator(run, f"moved{len(moved)}"))
        return TrainSummary(aligner="video", steps=1, pairs=len(pairs), history=[])

    script = [(0.69, 0.0, 0.5), (0.75, -0.1, 0.4), (0.80, -0.2, 0.3)]
    run.train = train
    run.evaluate = lambda pairs, *, seed=0, repeats=1: EvalResult(*script.pop(0), pairs=len(pairs))
    out = train_with_early_stopping(run, ["p"] * 4, ["v"], max_steps=2, checks=2, patience=2)
    assert out["kept_step"] == 0
    again = evaluator(run, "restored")
    assert again["per_prompt"] == before["per_prompt"]
    assert len(moved) == 2
    for a, b, c in zip(before["paths"], again["paths"], moved[-1]["paths"]):
        assert torch.equal(_frames(a[0]), _frames(b[0]))
        assert not torch.equal(_frames(a[0]), _frames(c[0]))  # the noise did move it


def _frames(path):
    import numpy as np

    from unireward_testbed.media import load_video

    return torch.from_numpy(np.stack([np.asarray(f) for f in load_video(path)]))
