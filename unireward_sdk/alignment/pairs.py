"""Read preference-pair exports for training: Pick-a-Pic / diffusers, VideoDPO and trl vision-DPO rows.

Aligners consume what ``unireward pairs`` writes, or the same formats from elsewhere:

- ``pickapic``: ``caption``, ``jpg_0``, ``jpg_1`` (image bytes, base64 text, a path or a datasets Image
  dict) and ``label_0`` (1.0: image 0 preferred, 0.5: tie, 0.0: image 1 preferred);
- ``videodpo``: ``caption``, ``chosen``, ``rejected`` (video paths, relative to the file's folder);
- ``trl``: ``prompt``, ``chosen``, ``rejected`` (and usually ``images`` or ``videos``) as trl's DPO rows.

Sources: a ``.jsonl`` / ``.json`` / ``.parquet`` file, a folder written by ``datasets.save_to_disk`` or
holding exactly one such file, a ``datasets.Dataset``, a list of row dicts, or a list of
:class:`~unireward_sdk.records.PreferencePair` records (image and video pairs become Pick-a-Pic and
VideoDPO rows).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import field, frozen

from ..errors import ConfigError, MediaError
from ..records import PreferencePair

FORMATS: dict[str, frozenset[str]] = {
    "pickapic": frozenset({"caption", "jpg_0", "jpg_1", "label_0"}),
    "videodpo": frozenset({"caption", "chosen", "rejected"}),
    "trl": frozenset({"prompt", "chosen", "rejected"}),
}
DATA_SUFFIXES = (".jsonl", ".json", ".parquet")


@frozen
class PairTable:
    """Rows of one export format, with the folder relative media paths are resolved against."""

    format: str
    rows: tuple[Any, ...] = field(converter=tuple, repr=False)
    base_dir: Path | None = None
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.rows)

    def resolve(self, value: str | Path) -> Path:
        """A media path from a row, made absolute against the export's folder when it is relative."""
        path = Path(value)
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path

    def require(self, *formats: str, who: str) -> PairTable:
        if self.format not in formats:
            raise ConfigError(
                f"{self.source} holds {self.format!r} rows, but this aligner trains on {' or '.join(formats)} rows",
                who=who,
                fix=f"Export the pairs as {' or '.join(formats)} (unireward pairs export --format ...)",
            )
        return self


def detect_format(columns: Iterable[str], *, source: str = "<rows>") -> str:
    cols = set(columns)
    for name, needed in FORMATS.items():
        if needed <= cols:
            return name
    raise ConfigError(
        f"cannot tell the pair format from the columns {sorted(cols)}",
        who=source,
        fix="Pick-a-Pic rows need caption/jpg_0/jpg_1/label_0, VideoDPO rows caption/chosen/rejected, "
            "trl rows prompt/chosen/rejected",
    )


def read_pairs(source: Any, format: str = "auto") -> PairTable:
    """Load pairs from a file, folder, dataset, list of rows or list of PreferencePair records."""
    if isinstance(source, PairTable):
        return source if format in ("auto", source.format) else source.require(format, who=source.source)
    if isinstance(source, (str, Path)):
        rows, base_dir, label = _read_path(Path(source))
    elif _is_dataset(source):
        rows, base_dir, label = list(source), None, "<datasets.Dataset>"
    elif isinstance(source, Sequence) and source and all(isinstance(r, PreferencePair) for r in source):
        return _from_preference_pairs(source, format)
    elif isinstance(source, Sequence) and all(isinstance(r, Mapping) for r in source):
        rows, base_dir, label = [dict(r) for r in source], None, "<rows>"
    else:
        raise ConfigError(f"cannot read pairs from a {type(source).__name__}",
                          fix="Pass a .jsonl/.parquet path, a dataset folder, a datasets.Dataset or a list of rows")
    if not rows:
        raise ConfigError("no pairs found", who=label, fix="Check the export; it holds no rows")
    detected = detect_format(rows[0].keys(), source=label)
    if format not in ("auto", detected):
        if format not in FORMATS:
            raise ConfigError(f"unknown pair format {format!r}", who=label,
                              fix=f"Use one of: auto, {', '.join(FORMATS)}")
        raise ConfigError(f"asked for {format!r} rows but the columns say {detected!r}", who=label,
                          fix="Drop the format setting or point at the right export")
    return PairTable(format=detected, rows=rows, base_dir=base_dir, source=label)


def _is_dataset(obj: Any) -> bool:
    return hasattr(obj, "column_names") and hasattr(obj, "features") and hasattr(obj, "__iter__")


def _read_path(path: Path) -> tuple[list[dict], Path, str]:
    if not path.exists():
        raise ConfigError("pair export not found", who=str(path), fix="Check the data path")
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "state.json").exists():
            from datasets import load_from_disk

            return [dict(r) for r in load_from_disk(str(path))], path, str(path)
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in DATA_SUFFIXES)
        if len(files) != 1:
            raise ConfigError(
                f"expected one pair file ({', '.join(DATA_SUFFIXES)}) in the folder, found {len(files)}",
                who=str(path), fix="Point at the file itself",
            )
        path = files[0]
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    elif suffix in (".jsonl", ".json"):
        text = path.read_text(encoding="utf-8")
        try:  # a .json file may hold one array (or {"rows": [...]}); datasets' to_json writes lines
            data = json.loads(text) if suffix == ".json" else None
        except json.JSONDecodeError:
            data = None
        if isinstance(data, list):
            rows = data
        elif isinstance(data, dict) and isinstance(data.get("rows"), list):
            rows = data["rows"]
        else:
            rows = _json_lines(text, path)
    else:
        raise ConfigError(f"unsupported pair file type {suffix!r}", who=str(path),
                          fix=f"Use one of {', '.join(DATA_SUFFIXES)} or a datasets folder")
    return rows, path.parent, str(path)


def _json_lines(text: str, path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"line {number} is not JSON ({exc.msg})", who=str(path),
                                  fix=f"Make line {number} one JSON object (JSON Lines: one pair per line)") from exc
    return rows


def _from_preference_pairs(pairs: Sequence[PreferencePair], format: str) -> PairTable:
    modality = pairs[0].chosen.modality
    if modality == "image":
        rows = [{"caption": p.prompt or "", "jpg_0": p.chosen.path, "jpg_1": p.rejected.path, "label_0": 1.0}
                for p in pairs]
        fmt = "pickapic"
    elif modality == "video":
        rows = [{"caption": p.prompt or "", "chosen": p.chosen.path, "rejected": p.rejected.path} for p in pairs]
        fmt = "videodpo"
    else:
        # text answers (understanding tasks) keep their records; the VLM aligner converts them itself
        return PairTable(format="records", rows=pairs, source="<PreferencePair records>")
    if format not in ("auto", fmt):
        raise ConfigError(f"{modality} pairs become {fmt!r} rows, not {format!r}", who="<PreferencePair records>",
                          fix=f"Pass format='auto' or format={fmt!r}")
    return PairTable(format=fmt, rows=rows, source="<PreferencePair records>")


# --- row helpers ----------------------------------------------------------------------------------


def pickapic_outcome(label_0: Any, *, who: str) -> str:
    """``"first"``, ``"second"`` or ``"tie"`` from a Pick-a-Pic ``label_0`` (never guessed when missing)."""
    try:
        value = float(label_0)
    except (TypeError, ValueError):
        raise ConfigError(f"label_0 must be a number in [0, 1], got {label_0!r}", who=who,
                          fix="Set label_0 to 1 (first image preferred), 0 (second) or 0.5 (tie)") from None
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"label_0 must be a number in [0, 1], got {label_0!r}", who=who,
                          fix="Set label_0 to 1 (first image preferred), 0 (second) or 0.5 (tie)")
    if value == 0.5:
        return "tie"
    return "first" if value > 0.5 else "second"


def _encoded(value: Any, table: PairTable | None, who: str) -> tuple[bytes, str]:
    """The encoded bytes of a row's image value and where they came from (not yet checked)."""
    from PIL import Image

    if isinstance(value, Image.Image):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return buffer.getvalue(), "in-memory image"
    if isinstance(value, Mapping):
        if value.get("bytes") is not None:
            value = value["bytes"]
        elif value.get("path"):
            value = value["path"]
        else:
            raise MediaError("image dict has neither bytes nor path", who=who,
                             fix="Give the image as {'bytes': ...} or {'path': ...} (the datasets Image layout)")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), "image bytes"
    if isinstance(value, (str, Path)):
        path = table.resolve(value) if table is not None else Path(value)
        if _plausible_path(value) and path.is_file():
            return path.read_bytes(), str(path)
        try:
            return base64.b64decode(str(value), validate=True), "base64 image"
        except (binascii.Error, ValueError):
            raise MediaError(f"image file not found: {path}", who=who, fix="Check the export's paths") from None
    raise MediaError(f"cannot read an image from a {type(value).__name__}", who=who,
                     fix="Store the image as bytes, a file path, base64 text or a PIL image")


def _opened(data: bytes, origin: str, who: str, use: Callable[[Any], Any]) -> Any:
    """``use(image)`` on the image in ``data``; an unreadable image is a MediaError naming ``origin``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return use(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise MediaError(f"{origin} is not a readable image ({exc})", who=who,
                         fix="Re-save the image as PNG or JPEG, or drop the pair from the data") from exc


def image_bytes(value: Any, table: PairTable | None = None, *, who: str = "pair row") -> bytes:
    """The encoded bytes of an image value (bytes, a datasets Image dict, a PIL image, a path or base64 text),
    checked to be a readable image. Files keep their own encoding; only in-memory images are written as PNG."""
    data, origin = _encoded(value, table, who)
    _opened(data, origin, who, lambda image: image.verify())
    return data


def decode_image(data: bytes):
    """A PIL RGB image from encoded bytes that :func:`image_bytes` checked."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def load_image(value: Any, table: PairTable | None = None, *, who: str = "pair row"):
    """A PIL RGB image from a row value: bytes, a datasets Image dict, a PIL image, a path or base64 text
    (decoded once: no separate check pass)."""
    from PIL import Image

    if isinstance(value, Image.Image):
        return value.convert("RGB")
    data, origin = _encoded(value, table, who)
    return _opened(data, origin, who, lambda image: image.convert("RGB"))


def _plausible_path(value: Any) -> bool:
    text = str(value)
    return len(text) < 4096 and "\n" not in text
