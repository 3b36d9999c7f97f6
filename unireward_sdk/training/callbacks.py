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
        self._print(eval_line(run, step, scores))

    def on_message(self, run: str, text: str) -> None:
        self._print(f"[{run}] {text}")


class ProgressCallback(TrainingCallback):
    """The command line's display (:mod:`unireward_sdk.progress`): one bar per run on a terminal, else plain
    lines (every tenth of the run, every ``every`` steps and every 10 s); evaluations and messages as lines.

    ``style``: ``auto`` (rich on a terminal), ``rich``, ``plain`` or ``off``. A context manager."""

    def __init__(self, every: int | None = None, style: str = "auto", stream: Any = None):
        self.every, self.style, self.stream = every, style, stream
        self.bar: Any = None

    def __enter__(self) -> ProgressCallback:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _note(self, text: str) -> None:
        from ..progress import track

        if self.bar is not None:
            self.bar.note(text)
        else:  # between runs: the same rules (stream, rank) without a bar
            track("", 0, style="plain" if self.style != "off" else "off", stream=self.stream).note(text)

    def on_start(self, run: str, total_steps: int) -> None:
        from ..progress import track

        self._close()
        self.bar = track(f"[{run}] step", total_steps, style=self.style, stream=self.stream, every_n=self.every)
        self.bar.__enter__()

    def on_step(self, run: str, step: int, total: int, loss: float, lr: float) -> None:
        if self.bar is not None:
            self.bar.update(step, total=total, status=f"loss {loss:.4f}, lr {lr:.2e}")

    def on_eval(self, run: str, step: int, scores: Mapping[str, Any]) -> None:
        self._note(eval_line(run, step, scores))

    def on_message(self, run: str, text: str) -> None:
        self._note(f"[{run}] {text}")


def eval_line(run: str, step: int, scores: Mapping[str, Any]) -> str:
    """``[joint] eval at step 50: image_generation 62.5% (n=16, answered A 7 / B 9 / tie 0 / failed 0)``."""
    parts = []
    for task, s in scores.items():
        acc = "—" if s.accuracy is None else f"{100 * s.accuracy:.1f}%"
        mix = getattr(s, "answers", None)
        answered = f", answered {answer_mix_text(mix)}" if mix else ""
        parts.append(f"{task} {acc} (n={s.n}{answered})")
    return f"[{run}] eval at step {step}: " + ", ".join(parts)


def answer_mix_text(mix: Mapping[str, int]) -> str:
    """``A 3 / B 5 / tie 0 / failed 1``: a judge's answers to held-out pairs."""
    return " / ".join(f"{answer} {count}" for answer, count in mix.items())
