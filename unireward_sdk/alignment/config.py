"""The settings every aligner shares, as a dataclass that each aligner extends with its own fields.

A config is built from Python (``DiffusionDPOConfig(model=..., beta=2500)``), from a TOML table through
:meth:`AlignerConfig.from_mapping` (unknown keys fail with a "did you mean"), and round-trips through
:meth:`AlignerConfig.to_dict` into the ``unireward_policy.json`` of a saved policy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import ConfigError, did_you_mean

MIXED_PRECISION = ("no", "fp16", "bf16")

C = TypeVar("C", bound="AlignerConfig")


@dataclass
class AlignerConfig:
    """Fields common to every aligner. Subclasses add ``beta`` and their model-specific fields.

    ``max_steps`` counts optimizer steps (after gradient accumulation); when it is ``None`` training
    runs ``num_epochs`` passes over the pairs. ``lora=False`` fine-tunes every weight of the policy and
    keeps a frozen copy as the reference; with ``lora=True`` the reference is the policy with its
    adapter disabled, so no second copy is held.
    """

    model: str = ""
    output_dir: str = "aligned-policy"
    max_steps: int | None = None
    num_epochs: int = 1
    learning_rate: float = 1e-5
    batch_size: int = 1
    gradient_accumulation_steps: int = 1
    lora: bool = True
    lora_rank: int = 8
    lora_alpha: float | None = None  # None: equal to lora_rank (scale 1)
    lora_dropout: float = 0.0
    lora_target_modules: tuple[str, ...] | None = None  # None: the aligner's default
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    max_grad_norm: float | None = 1.0
    weight_decay: float = 0.0
    warmup_steps: int = 0
    seed: int = 0
    save_every: int | None = None  # also write output_dir/checkpoint-<step> every N optimizer steps
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.lora_target_modules, list):
            self.lora_target_modules = tuple(self.lora_target_modules)
        if self.mixed_precision not in MIXED_PRECISION:
            raise ConfigError(
                f"mixed_precision must be one of {', '.join(MIXED_PRECISION)}, not {self.mixed_precision!r}",
                who=type(self).__name__, fix=f"Set mixed_precision to one of: {', '.join(MIXED_PRECISION)}",
            )
        for name in ("num_epochs", "batch_size", "gradient_accumulation_steps", "lora_rank"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)!r}", who=type(self).__name__,
                                  fix=f"Set {name} to 1 or more")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max_steps must be at least 1 or unset, got {self.max_steps!r}",
                              who=type(self).__name__,
                              fix="Set max_steps to 1 or more, or leave it out to train for num_epochs")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate!r}", who=type(self).__name__,
                              fix="Set learning_rate to a positive number, e.g. 1e-5")

    # --- named constructors -----------------------------------------------------------------------

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_mapping(cls: type[C], data: Mapping[str, Any] | None = None, *, who: str | None = None,
                     **overrides: Any) -> C:
        """Build from a plain mapping (a TOML table), refusing unknown keys with a suggestion."""
        values = {**dict(data or {}), **overrides}
        known = cls.field_names()
        unknown = [k for k in values if k not in known]
        if unknown:
            hints = "".join(did_you_mean(k, known) for k in unknown)
            raise ConfigError(f"unknown {cls.__name__} keys {unknown}.{hints}", who=who or cls.__name__,
                              fix=f"Allowed keys: {', '.join(known)}")
        return cls(**values)

    @classmethod
    def coerce(cls: type[C], config: Any = None, **overrides: Any) -> C:
        """Accept an instance of this class, a mapping, or nothing, plus keyword overrides."""
        if config is None:
            return cls.from_mapping(overrides)
        if isinstance(config, cls):
            return dataclasses.replace(config, **overrides) if overrides else config
        if isinstance(config, AlignerConfig):  # a sibling config: keep the shared fields
            return cls.from_mapping({k: v for k, v in config.to_dict().items() if k in cls.field_names()},
                                    **overrides)
        if isinstance(config, Mapping):
            return cls.from_mapping(config, **overrides)
        raise ConfigError(f"expected a {cls.__name__} or a mapping, got {type(config).__name__}", who=cls.__name__,
                          fix=f"Pass a {cls.__name__}, a dict of its fields, or None")

    def evolve(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (tuples become lists)."""
        out = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @property
    def effective_lora_alpha(self) -> float:
        return float(self.lora_rank if self.lora_alpha is None else self.lora_alpha)
