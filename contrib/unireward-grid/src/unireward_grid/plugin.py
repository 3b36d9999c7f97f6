"""The entry point ``unireward: grid = unireward_grid.plugin``: a modality, a task, a head and a filter."""

from __future__ import annotations

from unireward_sdk import FilterSpec, ModalitySpec, RewardHeadSpec, TaskSpec, hookimpl
from unireward_sdk.options import Option

from .filters import MinFilledFilter
from .head import CellCountHead
from .modality import EXTENSIONS, GridModality
from .task import GridGenerationTask


@hookimpl
def unireward_register_modalities():
    yield ModalitySpec(name="grid", factory=GridModality, extensions=EXTENSIONS,
                       summary="binary grids: rows of 0 / 1 cells separated by spaces")


@hookimpl
def unireward_register_tasks():
    yield TaskSpec(name=GridGenerationTask.name, factory=GridGenerationTask, modalities=GridGenerationTask.modalities,
                   summary="a grid asked for by its number of filled cells")


@hookimpl
def unireward_register_reward_heads():
    yield RewardHeadSpec(
        name="cell_count", factory=CellCountHead, tasks=("grid_generation",), needs_backend=False,
        backend_capabilities=(), summary="scores a grid by how close its filled cells are to the prompt's number",
        options=(Option("tie_tolerance", float, default=0.0, help="score gap at or below which a pair ties"),),
    )


@hookimpl
def unireward_register_filters():
    yield FilterSpec(
        name="min_filled", factory=MinFilledFilter, needs=(),
        summary="leave out candidates with fewer filled cells than min_filled before ranking",
        options=(Option("min_filled", int, default=1, help="fewest filled cells a candidate may have"),),
    )
