"""Grid files for the example plugin's tests, and the plugin registered on the process-wide host."""

from __future__ import annotations

from pathlib import Path

import pytest

from unireward_sdk import get_registry


@pytest.fixture(autouse=True)
def grid_plugin():
    """The plugin as its entry point would load it (registered by hand when the distribution is not installed)."""
    from unireward_grid import plugin

    host = get_registry().host
    added = "grid" not in host.plugins
    if added:
        assert host.register(plugin, name="grid", distribution="unireward-grid", version="0.1.0")
    yield
    if added:
        host.unregister("grid")


@pytest.fixture
def write_grid(tmp_path):
    """write_grid(name, filled, rows=3, cols=3) -> path of a grid with its first ``filled`` cells set."""

    def write(name: str, filled: int, rows: int = 3, cols: int = 3) -> Path:
        cells = ["1" if i < filled else "0" for i in range(rows * cols)]
        lines = [" ".join(cells[r * cols:(r + 1) * cols]) for r in range(rows)]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write
