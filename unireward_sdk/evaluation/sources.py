"""Reading benchmark rows from local files or the Hugging Face hub, and turning media fields into files.

Rows are plain dicts. Local formats: JSON Lines, a JSON list, CSV, and Parquet (one file or a folder
of shards, as the hub stores datasets). Media fields may be a path (relative to the media root), a
URL, or embedded bytes as Hugging Face Parquet stores images: ``{"bytes": b"...", "path": "x.png"}``.
Embedded bytes are written once to a cache folder, named by content hash, so every judge sees a file.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MediaError, MissingDependencyError
from ..ingest import DATA_FORMATS, PathPolicy, data_files  # noqa: F401 - data_files stays importable here
from ..ingest import read_rows as ingest_rows

DATA_SUFFIXES: tuple[str, ...] = DATA_FORMATS


# --- rows ------------------------------------------------------------------------------------------


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """All rows of a local data file or folder, in file order (read by :func:`unireward_sdk.ingest.read_rows`)."""
    return [row.data for row in ingest_rows(path)]


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

# Container signatures, only to name a cached file whose row gave no file name: the name's suffix then
# decides the modality through the modality plugins like any other file.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF8", ".gif"),
    (b"\x1aE\xdf\xa3", ".webm"),
    (b"fLaC", ".flac"),
)
# RIFF is a family: the form type at bytes 8-12 tells a WebP picture from a WAV recording or an AVI film
_RIFF_FORMS: dict[bytes, str] = {b"WEBP": ".webp", b"WAVE": ".wav", b"AVI ": ".avi"}


def _suffix_for(data: bytes, hint: str | None) -> str:
    if hint and Path(hint).suffix:
        return Path(hint).suffix.lower()
    for magic, suffix in _MAGIC:
        if data.startswith(magic):
            return suffix
    if data.startswith(b"RIFF"):
        return _RIFF_FORMS.get(data[8:12], ".bin")
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

    def __call__(self, value: Any, *, field: str, row: int | str) -> str:
        """``row``: the row's number, or its location (``file:line``) when the reader knows it."""
        who = f"{row} field '{field}'" if isinstance(row, str) else f"row {row} field '{field}'"
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
        # benchmark files name media anywhere (a separate archive, a hub cache): outside the root is fine
        policy = PathPolicy(self.root, allow_outside=True, must_exist=True, base_label="the media root",
                            missing=MediaError,
                            missing_fix="Pass --media-root with the folder the benchmark's media paths are relative to")
        return policy.resolve(text, where=who, name="media path")

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
