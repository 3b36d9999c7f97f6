"""The settings every aligner shares, as a dataclass that each aligner extends with its own fields.

A config is built from Python (``DiffusionDPOConfig(model=..., beta=2500)``), from a TOML table through
:meth:`AlignerConfig.from_mapping` (the shared :class:`~unireward_sdk.config.JobConfig` reader: unknown keys
fail with a "did you mean", a former name such as ``lora_rank`` names its new one), and round-trips through
:meth:`AlignerConfig.to_dict` into the ``unireward_policy.json`` of a saved policy. The names are those of
trl / transformers (``learning_rate``, ``max_steps``, ``num_train_epochs``, ``gradient_accumulation_steps``,
``lora_r``...). ``AlignJobConfig`` is the job of ``unireward align --config FILE.toml``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from attrs import field, frozen

from ..config import HYPERPARAMETER_RENAMES, JobConfig, checkpoint_field, model_field, path_field
from ..errors import ConfigError, did_you_mean

MIXED_PRECISION = ("no", "fp16", "bf16")

C = TypeVar("C", bound="AlignerConfig")


@dataclass
class AlignerConfig(JobConfig):
    """Fields common to every aligner. Subclasses add ``beta`` and their model-specific fields.

    ``max_steps`` counts optimizer steps (after gradient accumulation); when it is ``None`` training
    runs ``num_train_epochs`` passes over the pairs. ``lora=False`` fine-tunes every weight of the policy and
    keeps a frozen copy as the reference; with ``lora=True`` the reference is the policy with its
    adapter disabled, so no second copy is held.
    """

    RENAMED = HYPERPARAMETER_RENAMES

    model: str = model_field("", dataclass=True)
    output_dir: str = path_field("aligned-policy", dataclass=True)
    max_steps: int | None = None
    num_train_epochs: int = 1
    learning_rate: float = 1e-5
    batch_size: int = 1
    gradient_accumulation_steps: int = 1
    lora: bool = True
    lora_r: int = 8
    lora_alpha: float | None = None  # None: equal to lora_r (scale 1)
    lora_dropout: float = 0.0
    lora_target_modules: tuple[str, ...] | None = None  # None: the aligner's default
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    max_grad_norm: float | None = 1.0
    weight_decay: float = 0.0
    warmup_steps: int = 0
    seed: int = 0
    save_every: int | None = None  # also write output_dir/checkpoint-<step> every N optimizer steps
    # a checkpoint-<step> folder (or "latest": the newest in output_dir) that train() continues from
    resume_from_checkpoint: str | None = checkpoint_field(None, dataclass=True)
    trust_remote_code: bool = False
    # trl / transformers training arguments passed as they are (a [align.trainer_args] table), for aligners
    # that train through a trl trainer (TRAINER_ARGS names its arguments class); others refuse them
    trainer_args: dict[str, Any] = dataclasses.field(default_factory=dict)

    # "module:Class" of the arguments dataclass ``trainer_args`` are checked against, or None: not honoured
    TRAINER_ARGS: ClassVar[str | None] = None
    # its fields this aligner sets from its own settings (argument -> the setting to write instead)
    TRAINER_ARGS_OWNED: ClassVar[Mapping[str, str]] = {}

    def __post_init__(self) -> None:
        if isinstance(self.lora_target_modules, list):
            self.lora_target_modules = tuple(self.lora_target_modules)
        if self.mixed_precision not in MIXED_PRECISION:
            raise ConfigError(
                f"mixed_precision must be one of {', '.join(MIXED_PRECISION)}, not {self.mixed_precision!r}",
                who=type(self).__name__, fix=f"Set mixed_precision to one of: {', '.join(MIXED_PRECISION)}",
            )
        for name in ("num_train_epochs", "batch_size", "gradient_accumulation_steps", "lora_r"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)!r}", who=type(self).__name__,
                                  fix=f"Set {name} to 1 or more")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max_steps must be at least 1 or unset, got {self.max_steps!r}",
                              who=type(self).__name__,
                              fix="Set max_steps to 1 or more, or leave it out to train for num_train_epochs")
        self.trainer_args = check_trainer_args(self)
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate!r}", who=type(self).__name__,
                              fix="Set learning_rate to a positive number, e.g. 1e-5")

    # --- named constructors -----------------------------------------------------------------------

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

    @property
    def effective_lora_alpha(self) -> float:
        return float(self.lora_r if self.lora_alpha is None else self.lora_alpha)


def check_trainer_args(config: AlignerConfig) -> dict[str, Any]:
    """``config.trainer_args`` checked against the real fields of its aligner's arguments dataclass."""
    args = dict(config.trainer_args or {})
    who = type(config).__name__
    if not args:
        return args
    if config.TRAINER_ARGS is None:
        raise ConfigError(f"trainer_args {sorted(args)} are not used: this aligner runs its own training loop",
                          who=who, fix="Remove [trainer_args]; docs/aligners.md lists which aligners pass them to trl")
    import importlib

    module, _, name = config.TRAINER_ARGS.partition(":")
    arguments = getattr(importlib.import_module(module), name)
    known = sorted(f.name for f in dataclasses.fields(arguments) if f.init)
    unknown = [k for k in args if k not in known]
    if unknown:
        hints = "".join(did_you_mean(k, known) for k in unknown)
        raise ConfigError(f"unknown trainer_args {unknown}: not fields of {name}.{hints}", who=who,
                          fix=f"Use {name} field names (transformers TrainingArguments / trl)")
    owned = {k: config.TRAINER_ARGS_OWNED[k] for k in args if k in config.TRAINER_ARGS_OWNED}
    if owned:
        key, instead = next(iter(owned.items()))
        raise ConfigError(f"trainer_args '{key}' is set by the aligner itself", who=who,
                          fix=f"Write {instead} instead of trainer_args.{key}")
    return args


def _rest(value: Any) -> dict[str, Any]:
    return dict(value or {})


@frozen(kw_only=True)
class AlignJobConfig(JobConfig):
    """One ``unireward align`` job: which aligner, which pair export, and the aligner's own settings.

    The TOML table (``[align]`` or top level) holds ``aligner``, ``data``, ``format`` and the aligner's
    config fields side by side; the latter land in ``settings`` and are checked by the aligner's config
    class (:meth:`AlignerConfig.from_mapping`) when it is built. ``data``, ``output_dir`` and ``sample_dir``
    are relative to the file; ``model`` too when such a folder exists there (otherwise it is a hub id).
    """

    TABLE = "align"

    aligner: str
    data: str = path_field()
    format: str = "auto"
    model: str | None = model_field(None)
    output_dir: str | None = path_field(None)
    sample_dir: str | None = path_field(None)
    resume_from_checkpoint: str | None = checkpoint_field(None)
    eval_data: str | None = path_field(None)  # held-out pairs for --evaluate
    eval_format: str = "auto"
    settings: dict[str, Any] = field(factory=dict, converter=_rest)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None = None, **kwargs: Any) -> AlignJobConfig:
        # the aligner's own fields are not known here: they travel in ``settings`` to its config class
        values = dict(data or {})
        if isinstance(values.get(cls.TABLE), Mapping):
            values = dict(values[cls.TABLE])
        own = {a for a in cls.field_names() if a != "settings"}
        settings = {k: v for k, v in values.items() if k not in own}
        values = {k: v for k, v in values.items() if k in own}
        return super().from_mapping({**values, "settings": {**settings, **dict(values.get("settings") or {})}},
                                    **kwargs)

    def aligner_config(self) -> dict[str, Any]:
        """The mapping the aligner's config class is built from (paths already resolved)."""
        paths = {k: getattr(self, k) for k in ("model", "output_dir", "sample_dir", "resume_from_checkpoint")
                 if getattr(self, k) is not None}
        return {**self.settings, **paths}
