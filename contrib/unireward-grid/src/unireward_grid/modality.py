"""The ``grid`` modality: a ``.grid`` file is rows of ``0`` / ``1`` cells separated by spaces.

    1 0 1
    0 1 0

It loads as a tuple of rows of ints; a ragged, empty or non-binary file raises :class:`MediaError` naming
the file and the line, never a guessed grid.
"""

from __future__ import annotations

from pathlib import Path

from unireward_sdk import Media, MediaError
from unireward_sdk.media import sha256_file

EXTENSIONS = (".grid",)


class GridModality:
    """Loads and validates grids; ``max_cells`` bounds the size a job accepts."""

    name = "grid"

    def __init__(self, *, max_cells: int = 4096):
        self.max_cells = max_cells

    def load(self, source: str | Path) -> Media:
        path = Path(source)
        digest = sha256_file(path)  # reports a missing or unreadable file
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise MediaError(f"not a text grid ({exc.reason})", who=str(path),
                             fix="Write the grid as UTF-8 lines of 0 and 1 separated by spaces") from exc
        rows = parse_grid(text, who=str(path))
        cells = len(rows) * len(rows[0])
        if cells > self.max_cells:
            raise MediaError(f"{cells} cells exceed max_cells={self.max_cells}", who=str(path),
                             fix="Use a smaller grid or raise the modality's max_cells")
        meta = {"rows": len(rows), "cols": len(rows[0]), "filled": sum(map(sum, rows))}
        return Media(modality=self.name, sha256=digest, data=rows, path=str(path), meta=meta)

    def content_hash(self, source: str | Path) -> str:
        return sha256_file(source)


def parse_grid(text: str, *, who: str) -> tuple[tuple[int, ...], ...]:
    """Rows of 0/1 ints from the file's text; every problem names its line."""
    rows: list[tuple[int, ...]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split()
        if any(cell not in ("0", "1") for cell in cells):
            raise MediaError(f"line {number}: cells must be 0 or 1, got {line.strip()!r}", who=who,
                             fix="Write each row as 0 and 1 separated by spaces")
        if rows and len(cells) != len(rows[0]):
            raise MediaError(f"line {number}: {len(cells)} cells, the first row has {len(rows[0])}", who=who,
                             fix="Give every row the same number of cells")
        rows.append(tuple(int(cell) for cell in cells))
    if not rows:
        raise MediaError("empty grid (no rows)", who=who, fix="Write at least one row of 0 and 1")
    return tuple(rows)
