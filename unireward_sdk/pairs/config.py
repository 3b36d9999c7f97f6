"""The configuration of a pair-construction job, from Python or a TOML file (``unireward pairs --config``).

    [pairs]
    manifest = "prompts.jsonl"       # prompts and their candidates (paths relative to the manifest)
    output = "pairs-out"
    task = "image_generation"
    model = "CodeGoat24/UnifiedReward-qwen-7b"   # hub id or local folder of the judge
    head = "generative"               # or "fast"
    n = 10                            # candidates per prompt (sampler), checked against the manifest when set
    strategy = "disjoint"             # the paper; or "all_pairs", "round_robin" (with rounds = k)
    on_tie = "drop"                   # drop | swap | tie
    on_failure = "swap"               # drop | swap | tie
    margin = 1.0                      # optional: drop pairs whose score margin is smaller
    seed = 0
    batch_size = 8                    # prompts per batch: judge calls span them, commits are per batch

Relative paths in a file are relative to the file's folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from attrs import field, frozen

from ..errors import ConfigError, did_you_mean
from .algorithm import POLICIES, STRATEGIES

# fields that do not change what the job produces (resuming with other values is fine)
_NOT_FINGERPRINTED = ("output", "progress")


def _choice(options: tuple[str, ...]):
    def check(_instance, attribute, value) -> None:
        if value not in options:
            raise ConfigError(f"unknown {attribute.name} {value!r}", who="pair job",
                              fix=f"Set {attribute.name} to one of: {', '.join(options)}")

    return check


@frozen(kw_only=True)
class PairJobConfig:
    """Everything a pair job needs. ``judge_factory`` / ``sampler`` may name a Python callable as
    ``"package.module:callable"`` (called with ``head_options`` / ``sampler_options``) instead of the registry."""

    manifest: str
    output: str
    task: str
    model: str | None = None
    backend: str = "transformers"
    head: str = "generative"
    template: str | None = None
    pointwise_template: str | None = None
    n: int | None = None
    strategy: str = field(default="disjoint", validator=_choice(STRATEGIES))
    rounds: int | None = None
    on_tie: str = field(default="drop", validator=_choice(POLICIES))
    on_failure: str = field(default="swap", validator=_choice(POLICIES))
    symmetric: bool = False
    margin: float | None = None
    margin_normalized: bool = False
    swap_check: bool = False
    extra_filters: tuple[str, ...] = field(default=(), converter=tuple)
    seed: int = 0
    batch_size: int = 8
    judge_batch_size: int = 16
    media: str = field(default="copy", validator=_choice(("copy", "reference")))
    allow_outside: bool = False
    judge_factory: str | None = None
    sampler: str | None = None
    progress: bool = True
    backend_options: Mapping[str, Any] = field(factory=dict, converter=dict)
    head_options: Mapping[str, Any] = field(factory=dict, converter=dict)
    sampler_options: Mapping[str, Any] = field(factory=dict, converter=dict)

    def __attrs_post_init__(self) -> None:
        if self.batch_size < 1 or self.judge_batch_size < 1:
            raise ConfigError("batch_size and judge_batch_size must be >= 1", who="pair job",
                              fix="Set batch_size and judge_batch_size to 1 or more (defaults: 8 and 16)")
        if self.n is not None and self.n < 2:
            raise ConfigError(f"n must be >= 2 candidates per prompt, got {self.n}", who="pair job",
                              fix="Set n to 2 or more (the paper uses 10), or leave it unset to use the manifest's")
        if self.model is None and self.judge_factory is None:
            raise ConfigError("no judge is configured", who="pair job",
                              fix="Set 'model' (hub id or local folder) or 'judge_factory' ('package.module:callable')")

    # --- named constructors ---------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base_dir: str | Path | None = None,
                  source: str = "config") -> PairJobConfig:
        data = dict(data.get("pairs", data))
        known = [a.name for a in attrs.fields(cls)]
        unknown = [k for k in data if k not in known]
        if unknown:
            hints = "".join(did_you_mean(k, known) for k in unknown)
            raise ConfigError(f"unknown keys {unknown}.{hints}", who=source, fix=f"Allowed keys: {', '.join(known)}")
        missing = [k for k in ("manifest", "output", "task") if k not in data]
        if missing:
            raise ConfigError(f"missing required keys {missing}", who=source,
                              fix=f"Add {', '.join(missing)} to the [pairs] table (see docs/pairs.md)")
        if base_dir is not None:
            base = Path(base_dir)
            for key in ("manifest", "output"):
                if not Path(data[key]).is_absolute():
                    data[key] = str((base / data[key]).resolve())
            model = data.get("model")
            if model and not Path(model).is_absolute() and (base / model).exists():
                data["model"] = str((base / model).resolve())
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(str(exc), who=source,
                              fix="Give each key a value of its type: numbers unquoted, true/false for switches, "
                                  "quoted strings for paths and names") from exc

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> PairJobConfig:
        import tomllib

        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("config file not found", who=str(path),
                              fix="Check the path given to --config") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", who=str(path),
                              fix="Fix the TOML syntax at the reported line (quote strings, e.g. on_tie = \"drop\")"
                              ) from exc
        data = dict(data.get("pairs", data))
        data.update(overrides)
        return cls.from_dict(data, base_dir=path.parent, source=str(path))

    def evolve(self, **changes: Any) -> PairJobConfig:
        return attrs.evolve(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(attrs.asdict(self), default=list))

    def fingerprint(self, source_fingerprint: str) -> str:
        """A hash of everything that determines the job's output, including the prompts' content."""
        settings = {k: v for k, v in self.to_dict().items() if k not in _NOT_FINGERPRINTED}
        blob = json.dumps({"config": settings, "source": source_fingerprint}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def filter_chain(self) -> list[tuple[str, dict[str, Any]]]:
        """(filter name, options) in order: pair ranking, point sifting, then the optional filters."""
        chain = [
            ("pair_ranking", {"strategy": self.strategy, "rounds": self.rounds, "on_tie": self.on_tie,
                              "on_failure": self.on_failure, "symmetric": self.symmetric}),
            ("point_sifting", {}),
        ]
        if self.margin is not None:
            chain.append(("margin", {"threshold": self.margin, "normalized": self.margin_normalized}))
        if self.swap_check:
            chain.append(("swap_consistency", {}))
        chain.extend((name, {}) for name in self.extra_filters)
        return chain
