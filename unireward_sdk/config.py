"""One base for every job configuration: read from a mapping or a TOML file, checked the same way everywhere.

A job config (pairs, train-judge, align, an aligner's settings) is an attrs or dataclass record that mixes
in :class:`JobConfig`. It then gets, with no code of its own:

- ``from_mapping`` (alias ``from_dict``): unknown keys are refused with a did-you-mean, a renamed key
  is refused naming its new name (``'lr' is now 'learning_rate'``), missing required keys are named;
- ``from_toml``: one TOML reader whose errors name the file and the line;
- path fields declared once (``path_field()``, ``model_field()``) and resolved once, against the folder
  of the file they were written in: a relative ``path_field`` is always a file or folder there; a
  ``model_field`` is a folder next to the config when one exists, otherwise a hub id;
- ``to_dict`` (JSON-ready) and ``evolve`` (a changed copy, validated like the original).

The hyper-parameters share one vocabulary, the names trl and transformers use (:data:`HYPERPARAMETER_RENAMES`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import attrs
from attrs import field, frozen

from .errors import ConfigError, did_you_mean

C = TypeVar("C", bound="JobConfig")

# metadata key of a field that names a path; its value says how a relative path is read
PATH = "unireward_path"
FILE = "file"  # a file or folder next to the config
MODEL = "model"  # a folder next to the config when it exists, otherwise a hub id
CHECKPOINT = "checkpoint"  # "latest" as it is, otherwise a file or folder next to the config
# metadata key of a field a config file may not set (wiring, derived values)
INTERNAL = "unireward_internal"

# one vocabulary for the settings every trainer shares: the names of trl / transformers (TrainingArguments,
# trl.ModelConfig); an old key is refused naming its new one, never silently mapped
HYPERPARAMETER_RENAMES: Mapping[str, str] = {
    "lr": "learning_rate",
    "steps": "max_steps",
    "grad_accum": "gradient_accumulation_steps",
    "epochs": "num_train_epochs",
    "num_epochs": "num_train_epochs",
    "lr_scheduler": "lr_scheduler_type",
    "lora_rank": "lora_r",
    "lora_target": "lora_target_modules",
}


def path_field(default: Any = attrs.NOTHING, *, dataclass: bool = False, **kwargs: Any) -> Any:
    """A field holding a path, resolved against the config file's folder (a list of paths too)."""
    return _marked(default, {PATH: FILE}, dataclass, **kwargs)


def model_field(default: Any = attrs.NOTHING, *, dataclass: bool = False, **kwargs: Any) -> Any:
    """A field naming a model: a folder next to the config file when one exists there, else a hub id."""
    return _marked(default, {PATH: MODEL}, dataclass, **kwargs)


def checkpoint_field(default: Any = attrs.NOTHING, *, dataclass: bool = False, **kwargs: Any) -> Any:
    """A field naming a checkpoint to resume from: ``"latest"`` as it is, otherwise a path like ``path_field``."""
    return _marked(default, {PATH: CHECKPOINT}, dataclass, **kwargs)


def internal_field(default: Any = None, **kwargs: Any) -> Any:
    """An attrs field a config file cannot set and ``to_dict`` leaves out (a registry, a derived object)."""
    return field(default=default, eq=False, repr=False, metadata={INTERNAL: True}, **kwargs)


def _marked(default: Any, metadata: dict[str, Any], dataclass: bool, **kwargs: Any) -> Any:
    if dataclass:
        if default is attrs.NOTHING:
            return dataclasses.field(metadata=metadata, **kwargs)
        return dataclasses.field(default=default, metadata=metadata, **kwargs)
    return field(default=default, metadata=metadata, **kwargs)


# --- reading files --------------------------------------------------------------------------------------

_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file as a dict; a missing file or a syntax error names the file and the line."""
    import tomllib

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", who=str(path), fix="Check the path given to --config") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config: {exc.strerror or exc}", who=str(path),
                          fix="Check the path given to --config and that the file is readable") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _AT_LINE.search(str(exc))
        where = f"{path}:{found.group(1)}" if found else str(path)
        raise ConfigError(f"invalid TOML: {exc}", who=where,
                          fix='Fix the TOML syntax at that line (strings are quoted, e.g. task = "image_generation")'
                          ) from exc


def resolve_path(value: str, base_dir: str | Path) -> str:
    """``value`` as an absolute path, a relative one being read from ``base_dir``."""
    return value if Path(value).is_absolute() else str((Path(base_dir) / value).resolve())


def resolve_model(value: str, base_dir: str | Path) -> str:
    """A model folder next to the config (when it exists there), otherwise ``value`` unchanged (a hub id)."""
    if Path(value).is_absolute():
        return value
    local = Path(base_dir) / value
    return str(local.resolve()) if local.exists() else value


def _resolved(value: Any, kind: str, base_dir: str | Path) -> Any:
    if kind == CHECKPOINT and value == "latest":
        return value
    resolve = resolve_model if kind == MODEL else resolve_path
    if isinstance(value, (str, Path)):
        return resolve(str(value), base_dir)
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(str(v), base_dir) if isinstance(v, (str, Path)) else v for v in value)
    return value


# --- fields of an attrs or dataclass record -------------------------------------------------------------


@frozen
class _Field:
    name: str
    metadata: Mapping[str, Any]
    required: bool


def config_fields(cls: type) -> list[_Field]:
    """The settable fields of an attrs or dataclass config class, in declaration order."""
    if attrs.has(cls):
        return [_Field(a.name, a.metadata, a.default is attrs.NOTHING) for a in attrs.fields(cls)
                if a.init and not a.metadata.get(INTERNAL)]
    if dataclasses.is_dataclass(cls):
        return [_Field(f.name, f.metadata,
                       f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
                for f in dataclasses.fields(cls) if f.init and not f.metadata.get(INTERNAL)]
    raise TypeError(f"{cls.__name__} is neither an attrs nor a dataclass record")


def _internal_names(cls: type) -> list[str]:
    if attrs.has(cls):
        return [a.name for a in attrs.fields(cls) if a.init and a.metadata.get(INTERNAL)]
    return [f.name for f in dataclasses.fields(cls) if f.init and f.metadata.get(INTERNAL)]


def check_keys(data: Mapping[str, Any], known: list[str], *, who: str,
               renamed: Mapping[str, str] | None = None, label: str = "", hint: str = "") -> None:
    """Refuse renamed keys (naming the new form) and unknown keys (with a did-you-mean)."""
    old = [k for k in data if renamed and k in renamed and k not in known]
    if old:
        key, new = old[0], renamed[old[0]]  # type: ignore[index]
        # a plain name is quoted; a phrase (how the setting is written now) is shown as it is
        now = f"'{new}'" if new.isidentifier() else new
        raise ConfigError(f"'{key}' is now {now}", who=who,
                          fix="Write it the new way (docs/configuration.md lists every renamed setting)")
    unknown = [k for k in data if k not in known]
    if unknown:
        hints = "".join(did_you_mean(k, known) for k in unknown)
        raise ConfigError(f"unknown {label + ' ' if label else ''}keys {unknown}.{hints}", who=who,
                          fix=f"Allowed keys: {', '.join(known)}" + (f". {hint}" if hint else ""))


def _plain(value: Any) -> Any:
    """JSON-ready: tuples become lists, paths strings, records their dicts."""
    if attrs.has(type(value)):
        return {a.name: _plain(getattr(value, a.name)) for a in attrs.fields(type(value))
                if not a.metadata.get(INTERNAL)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.metadata.get(INTERNAL)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


class JobConfig:
    """Mixin of every job config (attrs or dataclass records). Subclasses may set:

    ``TABLE``: the TOML table holding the config (``"pairs"`` for ``[pairs]``); a mapping without it is
    read at top level. ``RENAMED``: old key -> its new name, refused with that name. ``UNKNOWN_HINT``:
    added to the error for an unknown key.
    ``_from_values(values, base_dir, who)``: build from checked, resolved values (nested tables).
    """

    TABLE: ClassVar[str | None] = None
    RENAMED: ClassVar[Mapping[str, str]] = {}
    # said after the allowed keys when a key is unknown (where settings that are not fields belong)
    UNKNOWN_HINT: ClassVar[str] = ""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in config_fields(cls)]

    @classmethod
    def from_mapping(cls: type[C], data: Mapping[str, Any] | None = None, *, base_dir: str | Path | None = None,
                     who: str | None = None, **overrides: Any) -> C:
        """Build from a mapping (a TOML table): keys checked, path fields resolved against ``base_dir``.

        ``overrides`` (keyword values from Python or the command line) win over ``data`` and are not
        resolved against ``base_dir``: they are relative to where the caller runs.
        """
        who = who or cls.__name__
        values = dict(data or {})
        if cls.TABLE and isinstance(values.get(cls.TABLE), Mapping):
            values = dict(values[cls.TABLE])
        fields = config_fields(cls)
        known = [f.name for f in fields]
        check_keys(values, known, who=who, renamed=cls.RENAMED, hint=cls.UNKNOWN_HINT)
        # from Python, internal fields (a registry) may be passed too; a file cannot set them
        check_keys(overrides, known + _internal_names(cls), who=who, renamed=cls.RENAMED, hint=cls.UNKNOWN_HINT)
        if base_dir is not None:
            for f in fields:
                kind = f.metadata.get(PATH)
                if kind and values.get(f.name) is not None:
                    values[f.name] = _resolved(values[f.name], kind, base_dir)
        values.update(overrides)
        missing = [f.name for f in fields if f.required and f.name not in values]
        if missing:
            table = f"the [{cls.TABLE}] table" if cls.TABLE else "the config"
            raise ConfigError(f"missing required key(s) {', '.join(map(repr, missing))}", who=who,
                              fix=f"Add {', '.join(missing)} to {table}")
        try:
            return cls._from_values(values, base_dir=base_dir, who=who)
        except TypeError as exc:
            raise ConfigError(str(exc), who=who,
                              fix="Give each key a value of its type: numbers unquoted, true/false for switches, "
                                  "quoted strings for paths and names") from exc

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any] | None = None, **kwargs: Any) -> C:
        """Same as :meth:`from_mapping`."""
        return cls.from_mapping(data, **kwargs)

    @classmethod
    def from_toml(cls: type[C], path: str | Path, **overrides: Any) -> C:
        """Read ``path``; relative paths in it are relative to its folder."""
        return cls.from_mapping(read_toml(path), base_dir=Path(path).parent, who=str(path), **overrides)

    @classmethod
    def _from_values(cls: type[C], values: dict[str, Any], *, base_dir: str | Path | None, who: str) -> C:
        return cls(**values)

    def evolve(self: C, **changes: Any) -> C:
        """A copy with ``changes``, checked like a new config."""
        if attrs.has(type(self)):
            return attrs.evolve(self, **changes)
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values of every settable field (what a saved run records)."""
        return json.loads(json.dumps(_plain(self), default=str))


@frozen
class FilterStage:
    """One stage of a pair job: a registered filter and its options."""

    name: str
    options: Mapping[str, Any] = field(factory=dict, converter=dict)


def filter_stage(value: Any) -> FilterStage:
    """A stage from ``"name"``, ``("name", {...})``, ``{name = "...", options = {...}}`` or a FilterStage."""
    if isinstance(value, FilterStage):
        return value
    if isinstance(value, str):
        return FilterStage(value)
    if isinstance(value, Mapping):
        extra = [k for k in value if k not in ("name", "options")]
        if "name" not in value or extra:
            raise ConfigError(f"a filter stage is {{name = ..., options = {{...}}}}, got {dict(value)!r}",
                              who="filters", fix='Write each stage as {name = "pair_ranking", options = {...}}'
                              + (f" (move {', '.join(extra)} into options)" if extra else ""))
        options = value.get("options") or {}
        if not isinstance(options, Mapping):
            raise ConfigError(f"the options of filter '{value['name']}' must be a table, got {options!r}",
                              who="filters", fix='Write options = {key = value, ...}')
        return FilterStage(str(value["name"]), options)
    if isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[0], str):
        return FilterStage(value[0], value[1] or {})
    raise ConfigError(f"cannot read a filter stage from {value!r}", who="filters",
                      fix='Write each stage as {name = "pair_ranking", options = {...}} or a filter name')


def filter_stages(values: Any) -> tuple[FilterStage, ...]:
    if isinstance(values, (str, Mapping)):
        values = [values]
    return tuple(filter_stage(v) for v in values)
