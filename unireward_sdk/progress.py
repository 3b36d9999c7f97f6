"""One progress display for every command, always on stderr (stdout carries results only).

    from unireward_sdk.progress import track

    with track("unireward pairs:", total=40, noun="prompts", done=12) as bar:   # 12 done by an earlier run
        for batch in batches:
            ...
            bar.advance(len(batch), status=f"{kept} pairs kept")
        bar.note("a message printed above the bar")

When stderr is a terminal the display is a rich bar; otherwise (a log file, a pipe, CI) it is plain lines
such as ``unireward pairs: 20/40 prompts (9 pairs kept) 50%, 3.10/s, ~6 s left``, written at the start,
whenever another tenth of the work is done or ``every_s`` seconds have passed, and at the end. The count
always covers the whole job: ``done`` is the work an earlier (resumed) run finished, and the rate and the
time left count only what this run does.

Under ``accelerate launch`` only the main process (rank 0) shows progress, and the caller gives it the
whole job's counts; a caller that can only count its own process's share passes ``per_process=True``, and
every process then shows its own bar labelled ``[rank r/N]``. rich is imported only for a terminal.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

STYLES = ("auto", "rich", "plain", "off")


def process_rank() -> tuple[int, int]:
    """(rank, world size) of this process as ``accelerate launch`` / torchrun set them; (0, 1) otherwise."""
    try:
        return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 0, 1


class Progress:
    """The progress of one counted piece of work; a context manager (see the module docstring)."""

    def __init__(self, label: str, total: int, *, noun: str = "", done: int = 0, style: str = "auto",
                 stream: TextIO | None = None, every_s: float = 10.0, every_n: int | None = None,
                 per_process: bool = False):
        if style not in STYLES:
            raise ValueError(f"progress style must be one of {STYLES}, got {style!r}")
        rank, world = process_rank()
        if world > 1 and per_process:
            label = f"[rank {rank}/{world}] {label}"
        elif world > 1 and rank != 0:
            style = "off"  # the main process shows the whole job
        self.stream = stream if stream is not None else sys.stderr
        if style == "auto":
            style = "rich" if _is_terminal(self.stream) else "plain"
        self.style = style
        self.label, self.noun = label, noun
        self.total, self.done, self.resumed = max(0, int(total)), int(done), int(done)
        self.status = ""
        self.every_s, self.every_n = every_s, every_n
        self._started = time.monotonic()
        self._last_time = self._started
        self._last_done: int | None = None
        self._rich: Any = None
        self._task: Any = None

    # --- the caller's side -----------------------------------------------------------------------

    def __enter__(self) -> Progress:
        if self.style == "rich":
            self._start_rich()
        elif self.style == "plain":
            self._line()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def advance(self, n: int = 1, *, status: str | None = None) -> None:
        """``n`` more units done (``status``: a short text shown after the count, e.g. ``3 failed``)."""
        self.update(self.done + n, status=status)

    def update(self, done: int | None = None, *, total: int | None = None, status: str | None = None) -> None:
        """Set the count of units done (of the whole job), the total or the status text."""
        if done is not None:
            self.done = int(done)
        if total is not None:
            self.total = max(0, int(total))
        if status is not None:
            self.status = status
        if self.style == "rich" and self._rich is not None:
            self._rich.update(self._task, completed=self.done, total=self.total or None,
                              status=f"({self.status})" if self.status else "")
        elif self.style == "plain" and self._due():
            self._line()

    def note(self, text: str) -> None:
        """A message line (an evaluation, a warning); above the bar on a terminal."""
        if self.style == "off":
            return
        if self._rich is not None:
            self._rich.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """End the display: the final count (plain lines: unless already written)."""
        if self._rich is not None:
            self._rich.stop()
            self._rich = None
        elif self.style == "plain" and self._last_done != self.done:
            self._line()
        self.style = "off"  # a closed display shows nothing more

    # --- rendering -------------------------------------------------------------------------------

    def _due(self) -> bool:
        if self._last_done is None or self.done >= self.total:
            return self._last_done != self.done
        if self.done == self._last_done:
            return False
        if self.every_n and self.done - self._last_done >= self.every_n:
            return True
        if self.total and 10 * self.done // self.total > 10 * self._last_done // self.total:
            return True  # another tenth of the job
        return time.monotonic() - self._last_time >= self.every_s

    def _line(self) -> None:
        text = self.text()
        self._last_done, self._last_time = self.done, time.monotonic()
        print(text, file=self.stream, flush=True)

    def text(self) -> str:
        """The plain progress line for the current count."""
        parts = [self.label, f"{self.done}/{self.total}"]
        if self.noun:
            parts.append(self.noun)
        if self.status:
            parts.append(f"({self.status})")
        line = " ".join(p for p in parts if p)
        if self.total:
            line += f" {100 * self.done // self.total}%"
        if self.resumed and self._last_done is None:
            line += f", {self.resumed} done by an earlier run"
        elapsed = time.monotonic() - self._started
        new = self.done - self.resumed
        if new > 0 and elapsed > 0:
            rate = new / elapsed
            line += f", {rate:.2f}/s"
            if self.total > self.done:
                line += f", ~{_duration((self.total - self.done) / rate)} left"
        return line

    def _start_rich(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress as RichProgress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
        if self.noun:
            columns.append(TextColumn(self.noun))
        columns += [TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn()]
        self._rich = RichProgress(*columns, console=Console(file=self.stream))
        self._rich.start()
        self._task = self._rich.add_task(self.label, total=self.total or None, completed=self.done, status="")


def track(label: str, total: int, **options: Any) -> Progress:
    """A :class:`Progress` (use it in a ``with`` block); ``options`` as for :class:`Progress`."""
    return Progress(label, total, **options)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or file-like stream without a terminal
        return False


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
