"""The ``margin`` filter: drop a pair whose chosen-minus-rejected score margin is below a threshold.

Runs after point sifting and calls no judge. The margin is on the template's scale, or on [0, 1] with
``normalized=True`` (useful when templates with different scales are mixed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from unireward_sdk import CandidateGroup, ConfigError, DroppedPrompt, FilterSpec, hookimpl
from unireward_sdk.options import Option
from unireward_sdk.pairs.algorithm import DropReason, margin


class MarginFilter:
    """Keep a pair only when ``chosen - rejected >= threshold``; a margin that cannot be computed drops too."""

    name = "margin"

    def __init__(self, threshold: float = 0.0, normalized: bool = False):
        if threshold < 0:
            raise ConfigError(f"margin threshold must be >= 0, got {threshold}", who="margin filter",
                              fix="Set margin (the threshold) to 0 or more, or leave it unset to skip this filter")
        self.threshold = float(threshold)
        self.normalized = normalized

    def apply(self, groups: Sequence[CandidateGroup], judge: Any = None) -> list[CandidateGroup]:
        out = []
        for group in groups:
            pair = group.pair
            if pair is None or group.dropped is not None:
                out.append(group)
                continue
            value = None
            if pair.chosen_score is not None and pair.rejected_score is not None:
                value = margin(pair.chosen_score, pair.rejected_score, normalized=self.normalized)
            if value is not None and value >= self.threshold:
                out.append(group)
                continue
            scale = "normalised" if self.normalized else "score"
            detail = (f"{scale} margin {value:g} < threshold {self.threshold:g}" if value is not None
                      else f"the {scale} margin cannot be computed (missing score or scale)")
            out.append(attrs.evolve(group, pair=None, dropped=DroppedPrompt(
                group.prompt_id, DropReason.BELOW_MARGIN, detail, verdicts=group.verdicts, scores=group.scores)))
        return out


@hookimpl
def unireward_register_filters():
    yield FilterSpec(name="margin", factory=MarginFilter, needs=(), options=(
        Option("threshold", float, default=0.0, help="drop pairs whose score margin is below this (>= 0)"),
        Option("normalized", bool, default=False, help="divide the margin by the template's score range"),
    ), summary="drop pairs whose score margin is below a threshold")
