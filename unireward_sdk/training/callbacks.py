"""Progress callbacks for judge training: the trainers report, a callback shows (stderr lines, rich bars...).

A callback is any object with these four methods; :class:`TrainingCallback` does nothing, subclass it
and override what you need. ``run`` names the judge being trained (``joint``, a task name, ``judge``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any


class TrainingCallback:
    """Does nothing; the base for callbacks."""

    def on_start(self, run: str, total_steps: int) -> None:
        """Training of ``run`` begins: ``total_steps`` optimizer steps."""

    def on_step(self, run: str, step: int, total: int, loss: float, lr: float) -> None:
        """An optimizer step finished (``loss``: mean over its micro-batches)."""

    def on_eval(self, run: str, step: int, scores: Mapping[str, Any]) -> None:
        """An evaluation finished: per task :class:`~unireward_sdk.training.evaluate.TaskScore`."""

    def on_message(self, run: str, text: str) -> None:
        """Anything else worth a line (data summary, where the judge was saved)."""


class PrintCallback(TrainingCallback):
    """Plain lines on stderr: a loss line every ``every`` steps, every evaluation, every message."""

    def __init__(self, every: int = 10, stream: Any = None):
        self.every = max(1, every)
        self.stream = stream or sys.stderr
        self.started: dict[str, float] = {}

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def on_start(self, run: str, total_steps: int) -> None:
        self.started[run] = time.monotonic()
        self._print(f"[{run}] training for {total_steps} steps")

    def on_step(self, run: str, step: int, total: int, loss: float, lr: float) -> None:
        if step % self.every == 0 or step == total:
            seconds = time.monotonic() - self.started.get(run, time.monotonic())
            self._print(f"[{run}] step {step}/{total} loss {loss:.4f} lr {lr:.2e} ({seconds:.0f} s)")

    def on_eval(self, run: str, step: int, scores: Mapping[str, Any]) -> None:
        parts = []
        for task, s in scores.items():
            acc = "—" if s.accuracy is None else f"{100 * s.accuracy:.1f}%"
            parts.append(f"{task} {acc} (n={s.n})")
        self._print(f"[{run}] eval at step {step}: " + ", ".join(parts))

    def on_message(self, run: str, text: str) -> None:
        self._print(f"[{run}] {text}")
