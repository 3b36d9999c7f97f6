"""Reading benchmark rows from local files or the Hugging Face hub, and turning media fields into files.

Rows are plain dicts. Local formats: JSON Lines, a JSON list, CSV, and Parquet (one file or a folder
of shards, as the hub stores datasets). Media fields may be a path (relative to the media root), a
URL, or embedded bytes as Hugging Face Parquet stores images: ``{"bytes": b"...", "path": "x.png"}``.
Embedded bytes are written once to a cache folder, named by content hash, so every judge sees a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MediaError, MissingDependencyError

DATA_SUFFIXES: tuple[str, ...] = (".parquet", ".jsonl", ".ndjson", ".json", ".csv")


# --- rows ------------------------------------------------------------------------------------------


def data_files(path: str | Path) -> list[Path]:
    """The data files behind ``path``: the file itself, or a folder's files of one format (sorted)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise ConfigError("no such file or folder", who=str(p), fix="Pass --data a benchmark file or folder")
    for suffix in DATA_SUFFIXES:
        found = sorted(f for f in p.rglob(f"*{suffix}") if f.is_file() and not f.name.startswith("."))
        if found:
            return found
    raise ConfigError(
        f"no data file ({', '.join(DATA_SUFFIXES)}) in the folder", who=str(p),
        fix="Point --data at the benchmark's parquet/jsonl/csv file",
    )


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """All rows of a local data file or folder, in file order."""
    rows: list[dict[str, Any]] = []
    for f in data_files(path):
        rows.extend(_read_file(f))
    return rows


def _read_file(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return _read_parquet(path)
        if suffix in (".jsonl", ".ndjson"):
            with path.open(encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):  # {"data": [...]} or {"rows": [...]}
                data = next((v for v in data.values() if isinstance(v, list)), None)
            if not isinstance(data, list):
                raise ConfigError("a .json data file must hold a list of rows", who=str(path),
                                  fix='Write a JSON list of row objects, or {"rows": [...]}')
            return data
        if suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                return [dict(r) for r in csv.DictReader(fh)]
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON ({exc})", who=str(path), fix="Check the file format") from exc
    raise ConfigError(f"unsupported data file type '{suffix}'", who=str(path),
                      fix=f"Use one of {', '.join(DATA_SUFFIXES)}")


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow ships with datasets
        raise MissingDependencyError("reading Parquet needs pyarrow", fix="pip install pyarrow") from exc
    return pq.read_table(path).to_pylist()


def rows_from_hub(hub_id: str, *, config: str | None = None, split: str | None = None,
                  media_columns: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Rows of a hub dataset through ``datasets.load_dataset`` (needs network or a warm cache).

    Image and video columns are cast to undecoded form so rows carry ``{"bytes", "path"}`` dicts, which
    :class:`MediaResolver` writes to its cache like local Parquet files. With ``split=None`` the
    ``test`` split is used when present, else the only split (GenAI-Bench publishes its test data as
    ``train``; VideoGen-RewardBench as ``eval``).
    """
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("loading a benchmark by hub id needs the 'datasets' package",
                                     fix="pip install 'unireward-sdk[train]'") from exc
    try:
        loaded = datasets.load_dataset(hub_id, config) if config else datasets.load_dataset(hub_id)
    except Exception as exc:  # noqa: BLE001 - offline mode, unknown id, auth: all need the same advice
        raise ConfigError(
            f"could not load hub dataset ({type(exc).__name__}: {exc})", who=hub_id,
            fix="Check network access and the dataset id, or download it and pass the local folder to --data",
        ) from exc
    if split is None:
        names = list(loaded.keys())
        split = "test" if "test" in names else (names[0] if len(names) == 1 else None)
        if split is None:
            raise ConfigError(f"several splits ({', '.join(names)}) and none is 'test'", who=hub_id,
                              fix="Pass --split")
    ds = loaded[split]
    for column in media_columns:
        feature = ds.features.get(column)
        kind = type(feature).__name__ if feature is not None else None
        if kind in ("Image", "Video") and hasattr(datasets, kind):
            # undecoded: {"bytes", "path"} dicts, written to the media cache like local Parquet rows
            ds = ds.cast_column(column, getattr(datasets, kind)(decode=False))
    return [dict(r) for r in ds]


# --- media -----------------------------------------------------------------------------------------

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF8", ".gif"),
    (b"RIFF", ".webp"),
    (b"\x1aE\xdf\xa3", ".webm"),
)


def _suffix_for(data: bytes, hint: str | None) -> str:
    if hint and Path(hint).suffix:
        return Path(hint).suffix.lower()
    for magic, suffix in _MAGIC:
        if data.startswith(magic):
            return suffix
    if data[4:8] == b"ftyp":
        return ".mp4"
    return ".bin"


class MediaResolver:
    """Turns a row's media field into a local file path.

    ``root`` resolves relative paths (default: the data file's folder). ``cache_dir`` receives
    embedded bytes and downloads; it is only needed when such fields occur.
    """

    def __init__(self, root: str | Path | None = None, cache_dir: str | Path | None = None,
                 *, allow_download: bool = True):
        self.root = Path(root) if root is not None else None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.allow_download = allow_download
        self.written = 0  # embedded files written to the cache (for the report)

    def __call__(self, value: Any, *, field: str, row: int) -> str:
        who = f"row {row} field '{field}'"
        if value is None:
            raise MediaError("the media field is empty", who=who,
                             fix="Fill in the row's media path, or drop the row from the data")
        if isinstance(value, dict):
            data = value.get("bytes")
            if data is not None:
                return self._write(bytes(data), value.get("path"), who)
            if value.get("path"):
                return self._path(str(value["path"]), who)
            raise MediaError("a media dict needs 'bytes' or 'path'", who=who,
                             fix="Give the media as {'bytes': ...} or {'path': ...} (the datasets Image layout)")
        if isinstance(value, (bytes, bytearray)):
            return self._write(bytes(value), None, who)
        if hasattr(value, "save") and hasattr(value, "size"):  # a decoded PIL image
            buf = io.BytesIO()
            value.save(buf, format="PNG")
            return self._write(buf.getvalue(), "image.png", who)
        if isinstance(value, (str, Path)):
            text = str(value)
            if text.startswith(("http://", "https://")):
                return self._download(text, who)
            return self._path(text, who)
        raise MediaError(f"unsupported media value of type {type(value).__name__}", who=who,
                         fix="Store the media as a path, a URL, bytes, a {'bytes'/'path'} dict or a PIL image")

    def _path(self, text: str, who: str) -> str:
        p = Path(text).expanduser()
        if not p.is_absolute() and self.root is not None:
            p = self.root / p
        if not p.exists():
            raise MediaError(f"media file not found: {p}", who=who,
                             fix="Pass --media-root with the folder the benchmark's media paths are relative to")
        return str(p)

    def _need_cache(self, who: str) -> Path:
        if self.cache_dir is None:
            raise MediaError("the row embeds media bytes but no cache folder was given", who=who,
                             fix="Pass cache_dir (CLI: --media-cache)")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return self.cache_dir

    def _write(self, data: bytes, hint: str | None, who: str) -> str:
        cache = self._need_cache(who)
        target = cache / f"{hashlib.sha256(data).hexdigest()[:24]}{_suffix_for(data, hint)}"
        if not target.exists():
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)  # atomic: a crash never leaves half a file under the final name
            self.written += 1
        return str(target)

    def _download(self, url: str, who: str) -> str:  # pragma: no cover - needs network
        if not self.allow_download:
            raise MediaError(f"media is a URL ({url}) and downloads are off", who=who,
                             fix="Download the media and pass --media-root")
        import urllib.request

        cache = self._need_cache(who)
        name = hashlib.sha256(url.encode()).hexdigest()[:24] + (Path(url.split("?")[0]).suffix or ".bin")
        target = cache / name
        if not target.exists():
            try:
                with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - user-supplied benchmark URL
                    data = resp.read()
            except OSError as exc:
                raise MediaError(f"could not download {url}: {exc}", who=who,
                                 fix="Check network access, or download the media and pass --media-root") from exc
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
        return str(target)
