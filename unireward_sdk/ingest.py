"""One way in for items: one path policy, one modality rule, one row reader.

Every format the SDK reads (score manifests, pair manifests, judge-training records, the pairwise benchmark
format) is a column mapping onto the canonical row::

    {"id": "cat", "task": "image_generation", "prompt": "a red cat",           # or "question": ...
     "context": ["q.png"], "candidates": [{"path": "imgs/a.png"}, {"text": "..."}],
     "labels": {...}, "meta": {...}}

- **Paths** (:class:`PathPolicy`): relative paths start at the base folder (the data file's folder); the
  result is absolute. A path that leaves the base folder is refused unless ``allow_outside`` is set. The
  error names the row (``file:line``, or ``file[row i]`` for Parquet). :func:`resolve_media` applies it to
  one path.
- **Modality**: a file's modality comes only from ``registry.modality_for_path`` (the extensions each
  modality plugin declares); a text candidate is ``text``. A media file whose modality the task does not
  take (``registry.task_spec(task).modalities``) is refused by name. :func:`candidate_for` makes one
  :class:`~unireward_sdk.records.Candidate` by these rules. A bare string candidate reads by
  :func:`bare_key`: a media path by its suffix, an answer text only where the task takes texts.
- **Problems** (:class:`RowProblems`): a reader checks every row and reports every bad one at once.
- **Rows** (:func:`read_rows`): JSON Lines, a JSON list, Parquet, CSV, a folder of shards, a
  ``datasets.Dataset`` or any iterable of mappings, each row located for error messages.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from attrs import field, frozen

from .errors import CapabilityError, ConfigError, UniRewardError, UnknownComponentError
from .records import Candidate, Provenance

# data-file formats (not media): the order is the preference when a folder holds several
DATA_FORMATS: tuple[str, ...] = (".parquet", ".jsonl", ".ndjson", ".json", ".csv")


def _default_registry(registry: Any) -> Any:
    if registry is not None:
        return registry
    from .registry import get_registry

    return get_registry()


# --- rows ------------------------------------------------------------------------------------------------


@frozen
class Row:
    """One row of a data source: where it is (``file:line``, ``file[row i]``...), its position and its data."""

    where: str
    index: int
    data: Any = field(eq=False)
    line: int | None = None  # the line number, for line-based formats


def data_files(path: str | Path) -> list[Path]:
    """The data files behind ``path``: the file itself, or a folder's files of one format (sorted)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise ConfigError("no such file or folder", who=str(p), fix="Point at a data file or a folder of data files")
    for suffix in DATA_FORMATS:
        found = sorted(f for f in p.rglob(f"*{suffix}") if f.is_file() and not f.name.startswith("."))
        if found:
            return found
    raise ConfigError(f"no data file ({', '.join(DATA_FORMATS)}) in the folder", who=str(p),
                      fix="Point at the data's parquet/jsonl/json/csv file")


def jsonl_rows(path: str | Path, start: int = 0, problems: list[UniRewardError] | None = None) -> Iterator[Row]:
    """The rows of a JSON Lines file whatever its name, located ``file:line`` (blank lines skipped).

    A line that is not JSON is raised, or, given a ``problems`` list, added to it and skipped (so a reader
    can report every bad line at once)."""
    path = Path(path)
    index = start
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                error = ConfigError(f"not a JSON object ({exc.msg})", who=f"{path}:{number}",
                                    fix="Make this line one complete JSON object (one row per line)")
                if problems is None:
                    raise error from exc
                problems.append(error)
                continue
            yield Row(f"{path}:{number}", index, data, line=number)
            index += 1


def _file_rows(path: Path, start: int) -> Iterator[Row]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from jsonl_rows(path, start)
        return
    index = start
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not valid JSON ({exc.msg}, line {exc.lineno})", who=str(path),
                              fix="Check the file format") from exc
        if isinstance(data, dict):  # {"data": [...]} or {"rows": [...]}
            data = next((v for v in data.values() if isinstance(v, list)), None)
        if not isinstance(data, list):
            raise ConfigError("a .json data file must hold a list of rows", who=str(path),
                              fix='Write a JSON list of row objects, or one object per line in a .jsonl file')
        for i, row in enumerate(data):
            yield Row(f"{path}[{i}]", index + i, row)
        return
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - pyarrow ships with datasets
            from .errors import MissingDependencyError

            raise MissingDependencyError("reading Parquet needs pyarrow", fix="pip install pyarrow") from exc
        for i, row in enumerate(pq.read_table(path).to_pylist()):
            yield Row(f"{path}[row {i}]", index + i, row)
        return
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            for i, row in enumerate(reader):
                yield Row(f"{path}:{reader.line_num}", index + i, dict(row), line=reader.line_num)
        return
    raise ConfigError(f"unsupported data file type '{suffix}'", who=str(path),
                      fix=f"Use one of {', '.join(DATA_FORMATS)}")


def read_rows(source: Any, *, origin: str = "rows") -> Iterator[Row]:
    """The rows of a file or folder (see :data:`DATA_FORMATS`), a ``datasets.Dataset`` or an iterable of
    mappings, each with its location: ``file:line`` (JSON Lines, CSV), ``file[row i]`` (Parquet),
    ``file[i]`` (a JSON list), ``dataset[i]`` or ``<origin>[i]``."""
    if isinstance(source, (str, Path)):
        index = 0
        for path in data_files(source):
            for row in _file_rows(path, index):
                yield row
                index = row.index + 1
        return
    if hasattr(source, "column_names") and hasattr(source, "to_list"):  # a datasets.Dataset
        for i, row in enumerate(source.to_list()):
            yield Row(f"dataset[{i}]", i, row)
        return
    for i, row in enumerate(source):
        yield Row(f"{origin}[{i}]", i, row)


# --- paths -----------------------------------------------------------------------------------------------


@frozen
class PathPolicy:
    """How a row's file paths resolve: against ``base`` (``None``: kept as written), inside it unless
    ``allow_outside``; ``must_exist`` refuses a missing file with ``missing`` (an error class)."""

    base: Path | None = field(default=None, converter=lambda v: None if v is None else Path(v).expanduser())
    allow_outside: bool = False
    must_exist: bool = False
    base_label: str = "the data file's folder"
    allow_hint: str = "set allow_outside = true"
    missing: type[UniRewardError] = ConfigError
    missing_fix: str = "Correct the path (relative paths start at the data file's folder) or remove it from the row"

    def _link_out_of_base(self, path: Path) -> tuple[Path, Path] | None:
        """(the link, what it resolves to): the first symbolic link below the base folder on ``path``'s way
        that points out of it (links above the base are resolved on both sides: they never make a path leave)."""
        if self.base is None:
            return None
        try:
            below = (path if path.is_absolute() else self.base / path).relative_to(self.base)
        except ValueError:
            return None
        base, step = self.base.resolve(), self.base
        for part in below.parts:
            step = step / part
            if step.is_symlink() and not step.resolve().is_relative_to(base):
                return step, step.resolve()
        return None

    def resolve(self, value: Any, *, where: str, name: str = "path") -> str:
        """The path as the SDK uses it (absolute when there is a base folder), or an error naming ``where``."""
        if isinstance(value, Path):
            value = str(value)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name} must be a non-empty path string, got {value!r}", who=where,
                              fix="Give the file's path as a string, relative to the data file's folder or absolute")
        path = Path(value).expanduser()
        if self.base is None:
            full = path
        else:
            full = (path if path.is_absolute() else self.base / path).resolve()
            base = self.base.resolve()
            if not self.allow_outside and not full.is_relative_to(base):
                link = self._link_out_of_base(path)
                if link is not None:
                    raise ConfigError(f"{name} '{value}' leaves {self.base_label} ({base}) through a symbolic link: "
                                      f"'{link[0]}' points to {link[1]}, which is outside {self.base_label}",
                                      who=where, fix=f"To follow links out of {self.base_label}, {self.allow_hint}; "
                                                     f"or copy the linked files under {self.base_label}")
                raise ConfigError(f"{name} '{value}' leaves {self.base_label} ({base}): {full} is outside "
                                  f"{self.base_label}", who=where,
                                  fix=f"Move the file under {self.base_label}, or {self.allow_hint}")
        if self.must_exist and not full.is_file():
            raise self.missing(f"file '{value}' does not exist (looked at {full})", who=where, fix=self.missing_fix)
        return str(full)


# --- modalities ------------------------------------------------------------------------------------------


def modality_of(path: str, registry: Any = None, *, where: str | None = None) -> str:
    """The modality of a file, from the extensions the registered modality plugins declare (nothing else)."""
    registry = _default_registry(registry)
    try:
        return registry.modality_for_path(str(path)).name
    except UnknownComponentError as exc:
        raise UnknownComponentError(f"'{path}': {exc.what}", who=where or exc.who, fix=exc.fix) from None


def claims(path: str, registry: Any = None) -> bool:
    """Whether a media modality (not plain text) declares the suffix of ``path``: a bare string that a
    media plugin claims is a file, anything else is text."""
    try:
        return modality_of(path, registry) != "text"
    except UnknownComponentError:
        return False


def task_modalities(task: str, registry: Any = None, *, where: str | None = None) -> tuple[str, ...]:
    """The modalities ``task`` takes (empty: any), from its spec; an unknown task names the row."""
    registry = _default_registry(registry)
    try:
        return tuple(registry.task_spec(task).modalities)
    except UnknownComponentError as exc:
        raise UnknownComponentError(exc.what, who=where or exc.who, fix=exc.fix) from None


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _plural(modalities: Iterable[str]) -> str:
    """``("image", "text")`` as "images or texts": how a task's modalities read in a sentence."""
    return " or ".join(f"{m}s" for m in modalities)


def check_accepts(task: str | None, modality: str, path: str, registry: Any = None, *,
                  where: str | None = None) -> None:
    """Refuse a media file whose modality ``task`` does not take, naming the file (no task: nothing to check)."""
    if task is None:
        return
    taken = task_modalities(task, registry, where=where)
    if taken and modality not in taken:
        raise CapabilityError(
            f"'{Path(path).name}' is {_article(modality)} {modality} file and task '{task}' takes "
            f"{_plural(taken)}", who=where,
            fix=f"Give task '{task}' {' or '.join(taken)} files, or run a task that takes {modality}s",
        )


def media_file(value: Any, *, task: str | None, policy: PathPolicy, registry: Any = None, where: str,
               name: str = "path") -> tuple[str, str]:
    """(resolved path, modality) of one media file of a row, checked against the task."""
    path = policy.resolve(value, where=where, name=name)
    modality = modality_of(path, registry, where=where)
    check_accepts(task, modality, path, registry, where=where)
    return path, modality


def bare_key(value: str, *, task: str | None, registry: Any = None, where: str, cid: str = "") -> str:
    """How a bare string candidate reads (the ``bare="auto"`` rule): ``"path"`` when a media modality
    declares its suffix; ``"text"`` when the task takes text (or no task is named). For a task that judges
    only media, a string shaped like a file name (``a.gif``) is a path, whose unknown suffix is then refused
    by name; anything else is refused, naming the row, because such a task cannot judge a sentence."""
    registry = _default_registry(registry)
    if claims(value, registry):
        return "path"
    taken = task_modalities(task, registry, where=where) if task is not None else ()
    if not taken or "text" in taken:
        return "text"
    if _file_name_shaped(value):
        return "path"
    suffixes = ", ".join(sorted({e for m in taken for e in _extensions(m, registry)}))
    shown = value if len(value) <= 60 else value[:57] + "..."
    kinds = " or ".join(f"{_article(m)} {m}" for m in taken)
    raise ConfigError(
        f"candidate {cid + ' ' if cid else ''}{shown!r} is not a media file path (no modality declares its "
        f"suffix) and task '{task}' judges {_plural(taken)}, not texts", who=where,
        fix=f"Give the path of {kinds} file{f' ({suffixes})' if suffixes else ''}, or use a task that judges "
            "answer texts",
    )


def _file_name_shaped(value: str) -> bool:
    """One token ending in a short alphanumeric suffix (``clip.gif``, ``imgs/a.heic``), not a sentence."""
    suffix = Path(value).suffix[1:]
    return not any(c.isspace() for c in value) and 0 < len(suffix) <= 5 and suffix.isalnum()


def _extensions(modality: str, registry: Any) -> tuple[str, ...]:
    try:
        return tuple(registry.modality_spec(modality).extensions)
    except UnknownComponentError:
        return ()


def candidate(value: Any, *, cid: str, task: str | None, policy: PathPolicy, registry: Any = None, where: str,
              bare: str = "auto", provenance: Provenance | None = None) -> Candidate:
    """A :class:`Candidate` from ``{"path": ...}`` / ``{"text": ...}`` (optional ``id``, ``meta``,
    ``modality``) or a bare string (``bare``: ``"path"``, ``"text"``, or ``"auto"``: :func:`bare_key`)."""
    if isinstance(value, str):
        key = bare_key(value, task=task, registry=registry, where=where, cid=cid) if bare == "auto" else bare
        value = {key: value}
    if not isinstance(value, Mapping) or not ({"path", "text"} & set(value)):
        raise ConfigError(f"candidate {cid} must be a path, a text or an object with 'path' or 'text'", who=where,
                          fix='Write it as {"path": "imgs/a.png"} or {"text": "..."}')
    cid = str(value.get("id", cid))
    meta = dict(value.get("meta") or {})
    prov = provenance if provenance is not None else Provenance()
    if value.get("path") is not None:
        path, modality = media_file(value["path"], task=task, policy=policy, registry=registry, where=where,
                                    name=f"candidate {cid} path")
        declared = value.get("modality")
        if declared not in (None, modality):
            raise ConfigError(f"candidate {cid} says modality '{declared}' but '{Path(path).name}' is a {modality} "
                              "file (the modality plugins' extensions decide)", who=where,
                              fix="Drop 'modality' from the candidate, or give a file of that modality")
        text = value.get("text")
        return Candidate(id=cid, modality=modality, path=path, text=None if text is None else str(text), meta=meta,
                         provenance=prov)
    if not isinstance(value["text"], str):
        raise ConfigError(f"candidate {cid} text must be a string", who=where,
                          fix="Put the response as a string in 'text', or use 'path' for a media file")
    return Candidate(id=cid, modality="text", text=value["text"], meta=meta, provenance=prov)


def context_paths(value: Any, *, task: str, policy: PathPolicy, registry: Any = None, where: str) -> tuple[str, ...]:
    """A row's context (the media asked about): one path or a list, each resolved and checked."""
    if value is None:
        return ()
    items = (value,) if isinstance(value, (str, Path)) else tuple(value)
    return tuple(media_file(v, task=task, policy=policy, registry=registry, where=where, name="context path")[0]
                 for v in items)


def as_candidates(values: Iterable[Any], **kw: Any) -> list[Candidate]:
    """Several candidates of one row; ``cid`` is a format string with ``{k}`` (the position)."""
    pattern = kw.pop("cid")
    return [candidate(v, cid=pattern.format(k=k), **kw) for k, v in enumerate(values)]


def resolve_media(path: Any, base_dir: str | Path | None, allow_outside: bool = False, who: str = "") -> str:
    """One media path under the path policy: relative to ``base_dir``, refused when it leaves ``base_dir``
    unless ``allow_outside``. Whether the file exists is left to the modality loader."""
    return PathPolicy(base_dir, allow_outside=allow_outside).resolve(path, where=who or str(path))


def candidate_for(value: Any, *, id: str, base_dir: str | Path | None, registry: Any = None,  # noqa: A002
                  task: str | None = None, allow_outside: bool = False, who: str = "",
                  bare: str = "path") -> Candidate:
    """A :class:`Candidate` from ``{"path"}`` / ``{"text"}`` / a bare string (``bare``: read as a path or a
    text), paths under :func:`resolve_media`'s policy. Its modality comes only from
    ``registry.modality_for_path``; with ``task``, a file of a modality the task does not take is refused by
    name (without one, any modality is kept)."""
    return candidate(value, cid=id, task=task, policy=PathPolicy(base_dir, allow_outside=allow_outside),
                     registry=registry, where=who or id, bare=bare)


# --- every problem at once ------------------------------------------------------------------------------


class RowProblems:
    """Collects the errors of a data file's rows so a reader reports every bad row at once, not the first.

        problems = RowProblems(str(path))
        for row in rows:
            with problems.check():
                items.append(read(row))        # an SDK error naming the row is recorded, the loop goes on
        problems.raise_if_any()                # one ConfigError listing each problem on its own line
    """

    def __init__(self, source: str, *, limit: int = 50):
        self.source = source
        self.limit = limit
        self.errors: list[UniRewardError] = []

    def check(self) -> _Recorder:
        return _Recorder(self)

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        if len(self.errors) == 1:
            error = self.errors[0]
            if isinstance(error, ConfigError):
                raise error
            # a missing or unreadable input file found before any work is bad input, like a bad field
            raise ConfigError(error.what, who=error.who, fix=error.fix) from error
        shown = self.errors[: self.limit]
        lines = "".join(f"\n  {e}" for e in shown)
        more = f"\n  ... and {len(self.errors) - len(shown)} more" if len(self.errors) > len(shown) else ""
        raise ConfigError(f"{len(self.errors)} problems in the data, so nothing was run", who=self.source,
                          fix=f"Fix every row listed, then run again:{lines}{more}")


class _Recorder:
    def __init__(self, problems: RowProblems):
        self.problems = problems

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, UniRewardError):
            self.problems.errors.append(exc)
            return True
        return False


# --- the canonical row -----------------------------------------------------------------------------------


@frozen
class Item:
    """A canonical row, read: candidates typed, paths resolved and checked, located for later errors."""

    where: str
    index: int
    id: str
    task: str
    candidates: tuple[Candidate, ...] = field(converter=tuple)
    prompt: str | None = None
    question: str | None = None
    context: tuple[str, ...] = field(default=(), converter=tuple)
    labels: Mapping[str, Any] = field(factory=dict, converter=dict, hash=False)
    meta: Mapping[str, Any] = field(factory=dict, converter=dict, hash=False)


def read_item(row: Any, *, where: str, index: int, task: str, policy: PathPolicy, registry: Any = None,
              default_id: str | None = None, cid: str = "{id}/{k}", bare: str = "auto",
              provenance: Provenance | None = None) -> Item:
    """One canonical row (``id``, ``task``, ``prompt`` / ``question``, ``context``, ``candidates``, ``labels``,
    ``meta``) as an :class:`Item`; ``task`` is used when the row names none. ``cid`` numbers candidates
    without an ``id`` (``{id}``: the row's id, ``{k}``: the position)."""
    if not isinstance(row, Mapping):
        raise ConfigError(f"expected a JSON object, got {type(row).__name__}", who=where,
                          fix='Write each row as one object, e.g. {"id": "cat", "prompt": "a red cat", '
                              '"candidates": ["imgs/cat_0.png", "imgs/cat_1.png"]}')
    task = str(row.get("task") or task)
    item_id = str(row["id"]) if row.get("id") not in (None, "") else (default_id or f"{index:06d}")
    for key in ("prompt", "question"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise ConfigError(f"'{key}' must be a string", who=where, fix=f"Give '{key}' as plain text, or leave it out")
    for key in ("labels", "meta"):
        if row.get(key) is not None and not isinstance(row[key], Mapping):
            raise ConfigError(f"'{key}' must be an object", who=where, fix=f'Write {key} as {{"name": value, ...}}')
    raw = row.get("candidates") or ()
    if isinstance(raw, (str, Mapping)):
        raw = (raw,)
    candidates = as_candidates(raw, cid=cid.replace("{id}", item_id), task=task, policy=policy, registry=registry,
                               where=where, bare=bare, provenance=provenance)
    ids = [c.id for c in candidates]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"candidate ids repeat within row '{item_id}'", who=where,
                          fix="Give each candidate a distinct 'id', or leave 'id' out to have them numbered")
    return Item(where=where, index=index, id=item_id, task=task, candidates=candidates, prompt=row.get("prompt"),
                question=row.get("question"),
                context=context_paths(row.get("context") or None, task=task, policy=policy, registry=registry,
                                      where=where),
                labels=dict(row.get("labels") or {}), meta=dict(row.get("meta") or {}))
