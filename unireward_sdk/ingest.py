"""One way in for candidates: which modality a file is, which folder its path is read from, which task may
judge it.

Score manifests, pair manifests, judge-training records, the pairwise benchmark format and the pair contact
sheet all turn a written candidate (``"imgs/a.png"``, ``{"path": ...}``, ``{"text": ...}``) into a
:class:`~unireward_sdk.records.Candidate` through this module, so they agree on every file:

- a file's modality comes only from the installed modalities' declared extensions
  (``registry.modality_for_path``): an ``audio`` or ``grid`` plugin's files are that modality everywhere, and
  a file no modality handles is refused by name, never guessed;
- a relative path is read from the folder of the file that names it, and one that leaves that folder is
  refused unless the caller allows it (``allow_outside``);
- a file whose modality the task does not judge is refused by name (a PNG given to a video task).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import CapabilityError, ConfigError, UniRewardError
from .records import Candidate, Provenance

TEXT = "text"


def _registry(registry: Any) -> Any:
    if registry is not None:
        return registry
    from .registry import get_registry

    return get_registry()


def modality_of(path: str | Path, *, registry: Any = None, declared: str | None = None, who: str = "") -> str:
    """The modality of a media file, from the installed modalities' extensions.

    A ``declared`` modality (a row's ``"modality"`` field) must be an installed one; it wins over the
    extension, so a ``.txt`` file can be declared an image's caption or a ``.bin`` file a plugin's format.
    """
    registry = _registry(registry)
    if declared:
        if declared not in registry.names("modality"):
            raise ConfigError(f"'{path}' is declared modality '{declared}', which no installed plugin provides",
                              who=who or str(path),
                              fix=f"Use one of {', '.join(registry.names('modality'))}, or install the plugin")
        return declared
    try:
        return registry.modality_for_path(str(path)).name
    except UniRewardError as exc:
        raise ConfigError(exc.what, who=who or str(path), fix=exc.fix) from exc


def names_media_file(value: str, *, registry: Any = None) -> bool:
    """True when a bare string is a media file's name by its extension (an installed modality other than text
    claims it); a record's plain string is then a path, otherwise a response text."""
    try:
        return modality_of(value, registry=registry) != TEXT
    except ConfigError:
        return False


def check_task_accepts(task: str, modality: str, path: str | Path, *, registry: Any = None, who: str = "") -> None:
    """Refuse a file whose modality ``task`` does not judge, naming the file, its modality and the task's."""
    accepted = _registry(registry).task_spec(task).modalities
    if accepted and modality not in accepted:
        raise CapabilityError(
            f"'{path}' is {_article(modality)} {modality} file, and task '{task}' judges {', '.join(accepted)}",
            who=who or str(path),
            fix=f"Give task '{task}' {' or '.join(accepted)} files, or judge this file with a task for {modality}",
        )


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def resolve_path(value: str | Path, base_dir: str | Path, *, allow_outside: bool = False, who: str = "",
                 where: str = "") -> Path:
    """``value`` read from ``base_dir`` (absolute paths as they are); leaving ``base_dir`` is refused unless allowed.

    ``where`` prefixes the message (``"line 3: "``); existence is the caller's check (a loader reports a
    missing file with its own context).
    """
    base = Path(base_dir).resolve()
    path = Path(value)
    full = (path if path.is_absolute() else base / path).resolve()
    if not allow_outside and not full.is_relative_to(base):
        raise ConfigError(f"{where}path '{value}' leaves the folder {base}", who=who or str(base),
                          fix="Move the file under that folder, or allow paths outside it (allow_outside = true, "
                              "--allow-outside-paths) if you trust the file that names it")
    return full


def candidate_for(value: Any, *, id: str, base_dir: str | Path | None = None, allow_outside: bool = False,
                  task: str | None = None, registry: Any = None, as_text: bool = False, who: str = "",
                  where: str = "", provenance: Provenance | None = None) -> Candidate:
    """A written candidate as a :class:`Candidate`.

    ``value`` is a path string (or, with ``as_text``, a response text), ``{"path": ..., "modality"?, "id"?,
    "meta"?}`` or ``{"text": ...}``. Paths are resolved with :func:`resolve_path` when ``base_dir`` is given;
    with ``task``, a file the task does not judge is refused.
    """
    if isinstance(value, str):
        value = {"text": value} if as_text else {"path": value}
    if not isinstance(value, Mapping) or not ({"path", "text"} & set(value)):
        raise ConfigError(f"{where}candidate {id!r} must be a path, a text or an object with 'path' or 'text'",
                          who=who, fix='Write it as "imgs/a.png", {"path": "imgs/a.png"} or {"text": "..."}')
    meta = dict(value.get("meta") or {})
    extra = {"provenance": provenance} if provenance is not None else {}
    cid = str(value.get("id", id))
    if value.get("path") is None:
        return Candidate(id=cid, modality=TEXT, text=str(value["text"]), meta=meta, **extra)
    path: str | Path = value["path"]
    if base_dir is not None:
        path = resolve_path(path, base_dir, allow_outside=allow_outside, who=who, where=where)
    modality = modality_of(path, registry=registry, declared=value.get("modality"), who=who)
    if task is not None:
        check_task_accepts(task, modality, path, registry=registry, who=who)
    return Candidate(id=cid, modality=modality, path=str(path), text=value.get("text"), meta=meta, **extra)
