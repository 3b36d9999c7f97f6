"""Early stopping of the generation runs: which check's weights are kept, by each criterion."""

from __future__ import annotations

import types

import pytest

torch = pytest.importorskip("torch")

from unireward_sdk.alignment import EvalResult, StepMetrics, TrainSummary  # noqa: E402
from unireward_testbed.generation import STOP_CRITERIA, train_with_early_stopping  # noqa: E402


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
