"""What training reports: per-step metrics, a summary of a run, and an evaluation of pairs.

The numbers are DPO's own: the loss, the implicit reward margin (the logit inside the loss: positive
when the policy prefers the chosen sample more than the reference does) and the accuracy (the share of
pairs with a positive margin). Every aligner reports these the same way, so the CLI prints any of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs
from attrs import field, frozen


@frozen
class StepMetrics:
    """One optimizer step, averaged over its accumulated micro-batches."""

    step: int
    loss: float
    margin: float
    accuracy: float
    learning_rate: float
    epoch: float = 0.0


@frozen
class EvalResult:
    """DPO loss, margin and accuracy of the current policy on pairs, with fixed noise / no sampling."""

    loss: float
    margin: float
    accuracy: float
    pairs: int


def _window(n: int) -> int:
    return max(1, min(10, n // 4))


@frozen
class TrainSummary:
    """A finished ``train()`` call. ``first_*`` / ``final_*`` average the first / last few steps.

    ``dropped`` counts rows not trained on, by reason (e.g. ``{"tie": 3}``).
    """

    aligner: str
    steps: int
    pairs: int
    history: tuple[StepMetrics, ...] = field(converter=tuple, repr=False)
    dropped: Mapping[str, int] = field(factory=dict, converter=dict, hash=False)
    output_dir: str | None = None

    @classmethod
    def from_history(cls, aligner: str, history: Sequence[StepMetrics], *, pairs: int,
                     dropped: Mapping[str, int] | None = None) -> TrainSummary:
        return cls(aligner=aligner, steps=len(history), pairs=pairs, history=tuple(history), dropped=dropped or {})

    def _mean(self, attr: str, *, last: bool) -> float | None:
        if not self.history:
            return None
        k = _window(len(self.history))
        part = self.history[-k:] if last else self.history[:k]
        return sum(getattr(m, attr) for m in part) / len(part)

    @property
    def first_loss(self) -> float | None:
        return self._mean("loss", last=False)

    @property
    def final_loss(self) -> float | None:
        return self._mean("loss", last=True)

    @property
    def first_margin(self) -> float | None:
        return self._mean("margin", last=False)

    @property
    def final_margin(self) -> float | None:
        return self._mean("margin", last=True)

    @property
    def final_accuracy(self) -> float | None:
        return self._mean("accuracy", last=True)

    def saved_to(self, path: str) -> TrainSummary:
        return attrs.evolve(self, output_dir=str(path))

    def to_dict(self) -> dict[str, Any]:
        return {
            "aligner": self.aligner,
            "steps": self.steps,
            "pairs": self.pairs,
            "dropped": dict(self.dropped),
            "first_loss": self.first_loss,
            "final_loss": self.final_loss,
            "first_margin": self.first_margin,
            "final_margin": self.final_margin,
            "final_accuracy": self.final_accuracy,
            "output_dir": self.output_dir,
        }


class ProgressCallback(Protocol):
    """Called after every optimizer step with its metrics and the planned number of steps."""

    def __call__(self, metrics: StepMetrics, total_steps: int) -> None: ...
