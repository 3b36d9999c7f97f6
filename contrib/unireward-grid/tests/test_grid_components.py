"""The grid plugin's components through the registry, as any caller reaches them."""

from __future__ import annotations

import pytest

from unireward_sdk import Candidate, ConfigError, JudgeItem, MediaError, get_registry
from unireward_sdk.interfaces import CandidateGroup


def test_modality_loads_and_refuses_bad_grids(write_grid, tmp_path):
    registry = get_registry()
    grid = registry.modality_for_path(str(write_grid("a.grid", 4)))
    assert grid.name == "grid"
    media = grid.load(write_grid("a.grid", 4))
    assert media.meta == {"rows": 3, "cols": 3, "filled": 4}
    ragged = tmp_path / "ragged.grid"
    ragged.write_text("1 0 1\n0 1\n", encoding="utf-8")
    with pytest.raises(MediaError, match="line 2: 2 cells, the first row has 3"):
        grid.load(ragged)
    with pytest.raises(MediaError, match="cells must be 0 or 1"):
        ragged.write_text("1 2\n", encoding="utf-8")
        grid.load(ragged)


def _item(prompt, *paths):
    return JudgeItem(id="i", task="grid_generation", prompt=prompt,
                     candidates=[Candidate(f"c{i}", modality="grid", path=str(p)) for i, p in enumerate(paths)])


def test_cell_count_head_needs_no_backend(write_grid):
    registry = get_registry()
    spec = registry.reward_head_spec("cell_count")
    assert spec.needs_backend is False
    head = registry.reward_head("cell_count", task="grid_generation", tie_tolerance=0.0)
    close, far = write_grid("close.grid", 3), write_grid("far.grid", 8)
    [score] = head.score_pointwise([_item("a grid with 3 filled cells", close)])
    assert score.ok and score.value == 1.0
    [verdict] = head.judge_pairwise([_item("a grid with 3 filled cells", far, close)])
    assert verdict.winner == "B"
    [tie] = head.judge_pairwise([_item("a grid with 3 filled cells", close, close)])
    assert tie.winner == "tie"


def test_cell_count_failures_are_values(write_grid, tmp_path):
    head = get_registry().reward_head("cell_count", task="grid_generation")
    [no_number] = head.score_pointwise([_item("a pleasant grid", write_grid("a.grid", 1))])
    assert no_number.status == "unparsed" and "names no cell count" in no_number.error
    broken = tmp_path / "broken.grid"
    broken.write_text("", encoding="utf-8")
    [verdict] = head.judge_pairwise([_item("3 cells", write_grid("a.grid", 3), broken)])
    assert verdict.status == "media_error" and "empty grid" in verdict.error


def test_head_and_filter_options_are_checked(write_grid):
    registry = get_registry()
    with pytest.raises(ConfigError, match="Did you mean 'tie_tolerance'"):
        registry.reward_head("cell_count", task="grid_generation", tie_tolerence=0.1)
    with pytest.raises(ConfigError, match="must be int"):
        registry.filter("min_filled", min_filled="two")
    keep = registry.filter("min_filled", min_filled=2)
    group = CandidateGroup(prompt_id="p", task="grid_generation", prompt="4 cells", candidates=[
        Candidate(f"c{n}", modality="grid", path=str(write_grid(f"c{n}.grid", n))) for n in (0, 1, 2, 5)])
    [kept] = keep.apply([group])
    assert [c.id for c in kept.candidates] == ["c2", "c5"]
    [dropped] = registry.filter("min_filled", min_filled=5).apply([group])
    assert dropped.dropped.reason == "too_few_candidates" and "c2: 2 filled < 5" in dropped.dropped.detail
