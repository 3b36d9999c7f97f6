"""The ``cell_count`` reward head: a rule, not a model. It needs no backend and no ``--model``.

Pointwise, a grid scores ``1 - |filled - requested| / cells`` on [0, 1]; pairwise, the grid with the higher
score wins, a tie when the scores differ by at most ``tie_tolerance``. A grid that cannot be loaded, or a
prompt that names no number, is a failure value with its reason; it never fails the rest of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from unireward_sdk import JudgeItem, MediaError, ParseStatus, Provenance, Score, Verdict

from .task import requested_cells


class CellCountHead:
    name = "cell_count"

    def __init__(self, backend: Any = None, task: Any = "grid_generation", registry: Any = None,
                 media: Any = None, tie_tolerance: float = 0.0):
        if registry is None:
            from unireward_sdk import get_registry

            registry = get_registry()
        self.registry = registry
        self.tie_tolerance = tie_tolerance
        self.provenance = Provenance(plugin=self.name, extra={"tie_tolerance": tie_tolerance})

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]:
        return [self._score(item.id, item.prompt, item.candidates[0]) for item in items]

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        verdicts = []
        for item in items:
            a, b = (self._score(item.id, item.prompt, c) for c in item.candidates)
            failed = next((s for s in (a, b) if not s.ok), None)
            if failed is not None:
                verdicts.append(Verdict.failure(item.id, failed.status, failed.error, provenance=self.provenance))
                continue
            gap = a.value - b.value
            winner = "tie" if abs(gap) <= self.tie_tolerance else ("A" if gap > 0 else "B")
            verdicts.append(Verdict(item_id=item.id, winner=winner, raw=f"A={a.value:.4f} B={b.value:.4f}",
                                    provenance=self.provenance))
        return verdicts

    def _score(self, item_id: str, prompt: str | None, candidate: Any) -> Score:
        target = requested_cells(prompt)
        if target is None:
            return Score.failure(item_id, ParseStatus.UNPARSED, f"the prompt names no cell count: {prompt!r}",
                                 provenance=self.provenance)
        try:
            grid = self.registry.modality("grid").load(candidate.path)
        except MediaError as exc:
            return Score.failure(item_id, ParseStatus.MEDIA_ERROR, str(exc), provenance=self.provenance)
        cells = grid.meta["rows"] * grid.meta["cols"]
        value = 1.0 - abs(grid.meta["filled"] - target) / cells
        return Score(item_id=item_id, value=max(value, 0.0), scale=(0.0, 1.0), raw=f"filled={grid.meta['filled']}",
                     provenance=self.provenance)
