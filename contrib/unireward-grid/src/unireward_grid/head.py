"""The ``cell_count`` reward head: a rule, not a model. It needs no backend and no ``--model``.

Pointwise, a grid scores ``1 - |filled - requested| / cells`` on [0, 1]; pairwise, the grid with the higher
score wins, a tie when the scores differ by at most ``tie_tolerance``. It builds on the SDK's public
:class:`~unireward_sdk.heads.JudgeHeadBase`, which batches, stamps provenance and turns a grid that cannot be
loaded into a ``media_error`` value for that item alone; a prompt that names no number is ``unparsed``.
"""

from __future__ import annotations

from typing import Any

from unireward_sdk import JudgeItem, ParseStatus, Provenance, Score, Verdict
from unireward_sdk.heads import JudgeHeadBase

from .task import requested_cells


class CellCountHead(JudgeHeadBase):
    name = "cell_count"
    needs = ()  # no backend capability: a model-free head
    renders_requests = False  # _run receives the JudgeItems, not rendered judge prompts

    def __init__(self, backend: Any = None, task: Any = "grid_generation", *, tie_tolerance: float = 0.0,
                 batch_size: int = 64, registry: Any = None, media: Any = None):
        super().__init__(backend, task, batch_size=batch_size, registry=registry, media=media)
        self.tie_tolerance = tie_tolerance

    def _run(self, mode: str, template_id: Any, template: Any, items: list[JudgeItem], item_ids: list[str]) -> list:
        if mode == "pointwise":
            return [self._score(item, item.candidates[0]) for item in items]
        return [self._verdict(item) for item in items]

    def _verdict(self, item: JudgeItem) -> Verdict:
        a, b = (self._score(item, candidate) for candidate in item.candidates)
        failed = next((score for score in (a, b) if not score.ok), None)
        if failed is not None:
            return Verdict.failure(item.id, failed.status, failed.error)
        gap = a.value - b.value
        winner = "tie" if abs(gap) <= self.tie_tolerance else ("A" if gap > 0 else "B")
        return Verdict(item_id=item.id, winner=winner, raw=f"A={a.value:.4f} B={b.value:.4f}",
                       provenance=Provenance(extra={"tie_tolerance": self.tie_tolerance}))

    def _score(self, item: JudgeItem, candidate: Any) -> Score:
        target = requested_cells(item.prompt)
        if target is None:
            return Score.failure(item.id, ParseStatus.UNPARSED, f"the prompt names no cell count: {item.prompt!r}")
        grid = self.media(candidate.path, "grid")  # a MediaError here fails this item alone
        cells = grid.meta["rows"] * grid.meta["cols"]
        value = max(1.0 - abs(grid.meta["filled"] - target) / cells, 0.0)
        return Score(item_id=item.id, value=value, scale=(0.0, 1.0), raw=f"filled={grid.meta['filled']}")
