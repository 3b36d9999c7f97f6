"""The ``min_filled`` filter: before ranking, leave out candidates with fewer than ``min_filled`` cells.

A prompt left with fewer than two candidates is dropped with that reason; an unreadable grid is left out
and named in the drop detail, never silently kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from unireward_sdk import CandidateGroup, DroppedPrompt, MediaError


class MinFilledFilter:
    name = "min_filled"

    def __init__(self, min_filled: int = 1, registry: Any = None):
        if registry is None:
            from unireward_sdk import get_registry

            registry = get_registry()
        self.registry = registry
        self.min_filled = min_filled

    def apply(self, groups: Sequence[CandidateGroup], judge: Any = None) -> list[CandidateGroup]:
        out = []
        for group in groups:
            if group.dropped is not None:
                out.append(group)
                continue
            kept, left_out = [], []
            for candidate in group.candidates:
                try:
                    filled = self.registry.modality_for_path(candidate.path).load(candidate.path).meta["filled"]
                except MediaError as exc:
                    left_out.append(f"{candidate.id}: {exc.what}")
                    continue
                if filled >= self.min_filled:
                    kept.append(candidate)
                else:
                    left_out.append(f"{candidate.id}: {filled} filled < {self.min_filled}")
            if len(kept) >= 2:
                out.append(attrs.evolve(group, candidates=kept,
                                        meta={**group.meta, "min_filled_left_out": left_out}))
            else:
                out.append(attrs.evolve(group, dropped=DroppedPrompt(
                    group.prompt_id, "too_few_candidates", "; ".join(left_out))))
        return out
