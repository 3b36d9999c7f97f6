"""Media loading shared by every task: the video sampling policy and a per-job cache of decoded media.

    cache = MediaCache(video_policy=VideoSampling(frames=8))
    image = cache("a.png")            # Media(modality="image", data=<PIL RGB image>, ...)
    video = cache("clip.mp4")         # Media(modality="video", data=[8 PIL RGB frames], meta={...})
    cache.stats                       # CacheStats(hits=..., misses=..., ...)

The cache picks the modality by file extension through the registry, so a third-party modality (audio,
3D...) works here without core changes. Decoding is the expensive part of judging media, so each file is
decoded once per cache: entries are found by (resolved path, size, mtime) and, for a copy of a file under
another name, by content hash. This module imports neither PIL nor PyAV; the modalities do.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from attrs import field, frozen

from .errors import MediaError, UnknownComponentError
from .records import Media

_UNSET: Any = type("_Unset", (), {"__repr__": lambda self: "<default>"})()
_HASH_CHUNK = 1 << 20


def _positive(kind: type):
    def check(_instance, attribute, value) -> None:
        if value is not None and value is not _UNSET and (isinstance(value, bool) or not isinstance(value, kind) or value <= 0):
            raise ValueError(f"VideoSampling.{attribute.name} must be a positive {kind.__name__} or None, got {value!r}")

    return check


@frozen
class VideoSampling:
    """Which frames of a video a judge sees: ``frames`` evenly spaced frames, or ``fps`` frames per second.

    Exactly one of ``frames`` and ``fps`` is set; ``VideoSampling()`` is the UnifiedReward training setting
    (8 evenly spaced frames) and ``VideoSampling(fps=2.0)`` alone switches to a frame rate.
    ``max_pixels`` bounds width x height of every frame (resized keeping the aspect ratio).

    Evenly spaced indices over ``n`` decoded frames are ``floor(i * (n - 1) / (frames - 1))`` for
    ``i = 0 .. frames-1`` (first and last frame always included, as ``np.linspace(0, n - 1, frames,
    dtype=int)`` in the LLaVA video loader). A video with ``n <= frames`` gives all of its ``n`` frames,
    never repeated ones.
    """

    frames: int | None = field(default=_UNSET, validator=_positive(int))
    fps: float | None = field(default=None, converter=lambda v: None if v is None else float(v),
                              validator=_positive(float))
    max_pixels: int | None = field(default=None, validator=_positive(int))

    def __attrs_post_init__(self) -> None:
        if self.frames is _UNSET:
            # the default of `frames` depends on `fps`: VideoSampling(fps=2) means "2 fps", not a conflict
            object.__setattr__(self, "frames", 8 if self.fps is None else None)
        if (self.frames is None) == (self.fps is None):
            raise ValueError(
                f"VideoSampling needs exactly one of frames and fps (got frames={self.frames!r}, fps={self.fps!r})"
            )

    @classmethod
    def even(cls, frames: int = 8, *, max_pixels: int | None = None) -> VideoSampling:
        return cls(frames=frames, fps=None, max_pixels=max_pixels)

    @classmethod
    def rate(cls, fps: float, *, max_pixels: int | None = None) -> VideoSampling:
        return cls(frames=None, fps=fps, max_pixels=max_pixels)

    def as_dict(self) -> dict[str, Any]:
        """What :attr:`Media.meta` records as ``sampling``."""
        return {"frames": self.frames, "fps": self.fps, "max_pixels": self.max_pixels}


def evenly_spaced_indices(total: int, count: int) -> tuple[int, ...]:
    """``count`` frame indices spread over ``total`` frames, first and last included; all frames if fewer."""
    if total <= 0:
        return ()
    if total <= count:
        return tuple(range(total))
    if count == 1:
        return (0,)
    return tuple(i * (total - 1) // (count - 1) for i in range(count))


def fit_within(width: int, height: int, max_pixels: int | None) -> tuple[int, int]:
    """The largest size with the same aspect ratio whose area is at most ``max_pixels`` (never upscales)."""
    if max_pixels is None or width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def sha256_file(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, read in chunks; a missing or unreadable file raises :class:`MediaError`."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        raise MediaError("file not found", who=str(path), fix="Check the path") from None
    except IsADirectoryError:
        raise MediaError("is a directory, not a media file", who=str(path),
                         fix="Pass the path of a media file, not of a directory") from None
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror or exc}", who=str(path),
                         fix="Check the file's read permissions, or copy it somewhere readable") from exc
    return digest.hexdigest()


# --- the cache ---------------------------------------------------------------------------------------


@frozen
class CacheStats:
    """Counters of a :class:`MediaCache`. ``hits = path_hits + content_hits``; ``misses`` = decodes;
    ``entries``: decoded media kept; ``paths``: paths known to lead to them."""

    hits: int
    misses: int
    path_hits: int
    content_hits: int
    evictions: int
    entries: int
    bytes: int
    paths: int = 0


def _approx_bytes(data: Any) -> int:
    """Memory held by decoded media, roughly: pixels x bands for images, summed over frame lists."""
    if isinstance(data, (list, tuple)):
        return sum(_approx_bytes(d) for d in data)
    size = getattr(data, "size", None)
    if isinstance(size, tuple) and len(size) == 2 and hasattr(data, "getbands"):  # a PIL image
        return size[0] * size[1] * len(data.getbands())
    nbytes = getattr(data, "nbytes", None)  # numpy arrays (audio)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(data, (str, bytes)):
        return len(data)
    return 0


def _freeze(options: Mapping[str, Any]) -> tuple:
    return tuple(sorted(options.items()))


class MediaCache:
    """Loads files through their modality once per cache; a :class:`~unireward_sdk.interfaces.MediaLoader`.

    Args:
        registry: where modalities come from (default: the process-wide registry).
        video_policy: the :class:`VideoSampling` handed to the ``video`` modality.
        image_max_pixels: optional area bound handed to the ``image`` modality.
        load_options: extra keyword arguments per modality name, e.g. ``{"audio": {"mono": True}}``.
        max_bytes: decoded media kept in memory before the least recently used entry is dropped
            (``None``: unbounded). An evicted file is decoded again when asked for.

    Errors of every kind (missing file, unsupported extension, corrupt content) are
    :class:`~unireward_sdk.errors.MediaError` naming the file; failures are not cached.
    """

    def __init__(
        self,
        registry: Any = None,
        video_policy: VideoSampling | None = None,
        *,
        image_max_pixels: int | None = None,
        load_options: Mapping[str, Mapping[str, Any]] | None = None,
        max_bytes: int | None = 4 << 30,
    ):
        self._registry = registry
        self.video_policy = video_policy if video_policy is not None else VideoSampling()
        options = {name: dict(opts) for name, opts in (load_options or {}).items()}
        options.setdefault("video", {}).setdefault("sampling", self.video_policy)
        if image_max_pixels is not None:
            options.setdefault("image", {})["max_pixels"] = image_max_pixels
        self.load_options: dict[str, dict[str, Any]] = options
        self.max_bytes = max_bytes
        self.loads: Counter[str] = Counter()  # decodes per resolved path: "loaded once per job" is loads[p] == 1
        self._by_stat: dict[tuple, tuple] = {}
        self._aliases: dict[tuple, set[tuple]] = {}  # content key -> the stat keys that point to it
        self._by_content: OrderedDict[tuple, Media] = OrderedDict()
        self._sizes: dict[tuple, int] = {}
        self._bytes = 0
        self._counts = Counter()
        self._lock = threading.Lock()

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from .registry import get_registry

            self._registry = get_registry()
        return self._registry

    # --- public ----------------------------------------------------------------------------------

    def __call__(self, path: str | os.PathLike[str], modality: str | None = None) -> Media:
        source = Path(path)
        stat_key = self._stat_key(source)
        mod = self._modality(source, modality)
        options = self.load_options.get(mod.name, {})
        frozen_options = _freeze(options)
        stat_key = (*stat_key, mod.name, frozen_options)

        with self._lock:
            content_key = self._by_stat.get(stat_key)
            if content_key is not None and content_key in self._by_content:
                self._counts["path_hits"] += 1
                return self._touch(content_key, source)

        content_key = (mod.content_hash(source), mod.name, frozen_options)
        with self._lock:
            if content_key in self._by_content:
                self._alias(stat_key, content_key)
                self._counts["content_hits"] += 1
                return self._touch(content_key, source)

        media = mod.load(source, **options)  # outside the lock: decoding is slow, other threads may go on
        with self._lock:
            self._counts["misses"] += 1
            self.loads[stat_key[0]] += 1
            if self._store(content_key, media):
                self._alias(stat_key, content_key)
        return media

    def forget(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Drop what the cache keeps per path for ``paths`` (the path-to-content links and their decode
        counts), for files about to be deleted: a long-running server writes every request's inline files
        under new names, and would otherwise keep a record of each. Decoded content stays, shared by
        content hash and bounded by ``max_bytes``."""
        names = {str(Path(p).resolve()) for p in paths}
        with self._lock:
            for stat_key in [k for k in self._by_stat if k[0] in names]:
                content_key = self._by_stat.pop(stat_key)
                self._aliases.get(content_key, set()).discard(stat_key)
            for name in names:
                self.loads.pop(name, None)

    @property
    def hits(self) -> int:
        return self._counts["path_hits"] + self._counts["content_hits"]

    @property
    def misses(self) -> int:
        return self._counts["misses"]

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                hits=self.hits, misses=self.misses, path_hits=self._counts["path_hits"],
                content_hits=self._counts["content_hits"], evictions=self._counts["evictions"],
                entries=len(self._by_content), bytes=self._bytes, paths=len(self._by_stat),
            )

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._by_stat.clear()
            self._aliases.clear()
            self._by_content.clear()
            self._sizes.clear()
            self._bytes = 0
            self._counts.clear()
            self.loads.clear()

    # --- internals -------------------------------------------------------------------------------

    @staticmethod
    def _stat_key(source: Path) -> tuple:
        try:
            resolved = source.resolve(strict=True)
            st = resolved.stat()
        except FileNotFoundError:
            raise MediaError("file not found", who=str(source), fix="Check the path") from None
        except OSError as exc:
            raise MediaError(f"cannot read file: {exc.strerror or exc}", who=str(source),
                             fix="Check the file's read permissions, or copy it somewhere readable") from exc
        if not resolved.is_file():
            raise MediaError("not a regular file", who=str(source),
                             fix="Point to a regular media file (not a directory, device or pipe)")
        return (str(resolved), st.st_size, st.st_mtime_ns)

    def _modality(self, source: Path, name: str | None) -> Any:
        try:
            if name is not None:
                return self.registry.modality(name)
            return self.registry.modality_for_path(str(source))
        except UnknownComponentError as exc:
            raise MediaError(f"unsupported file: {exc.what}", who=str(source), fix=exc.fix) from exc

    def _touch(self, content_key: tuple, source: Path) -> Media:
        self._by_content.move_to_end(content_key)
        media = self._by_content[content_key]
        # the same content under another name: share the decoded data, report the path asked for
        return media if media.path == str(source) else attrs.evolve(media, path=str(source))

    def _alias(self, stat_key: tuple, content_key: tuple) -> None:
        self._by_stat[stat_key] = content_key
        self._aliases.setdefault(content_key, set()).add(stat_key)

    def _store(self, content_key: tuple, media: Media) -> bool:
        """Keep ``media`` under ``content_key`` and apply the memory bound; whether the entry is still kept."""
        if content_key not in self._by_content:  # else another thread decoded it meanwhile
            size = _approx_bytes(media.data)
            self._by_content[content_key] = media
            self._sizes[content_key] = size
            self._bytes += size
        while self.max_bytes is not None and self._bytes > self.max_bytes and len(self._by_content) > 1:
            old_key, _ = self._by_content.popitem(last=False)
            self._bytes -= self._sizes.pop(old_key)
            # an evicted file's path links go with it, so they are bounded by what is kept
            for stat_key in self._aliases.pop(old_key, ()):
                self._by_stat.pop(stat_key, None)
            self._counts["evictions"] += 1
        return content_key in self._by_content
