"""The ``grid_generation`` task: a prompt asks for a grid with some number of filled cells.

It has no prompt templates: it is judged by a rule (the ``cell_count`` head), not by a judge model.
"""

from __future__ import annotations

import re

from unireward_sdk.tasks import TemplateTask

_NUMBER = re.compile(r"\b(\d+)\b")


class GridGenerationTask(TemplateTask):
    name = "grid_generation"
    modalities = ("grid",)
    media_source = "candidates"


def requested_cells(prompt: str | None) -> int | None:
    """The number of filled cells a prompt asks for ("a grid with 5 filled cells" -> 5), or None."""
    match = _NUMBER.search(prompt or "")
    return int(match.group(1)) if match else None
