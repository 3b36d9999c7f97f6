"""Configuration of judge training: one dataclass of hyper-parameters, and the TOML file the CLI reads.

``JudgeTrainingConfig`` is shared by the generative trainer, the scalar-head trainer and the ablation runner
(which gives every judge the same one, so their budgets match). ``TrainJudgeConfig`` is the whole job of
``unireward train-judge --config FILE.toml``::

    mode = "generative"              # generative | scalar | ablation
    base_model = "runs/base_judge"   # hub id or local folder, loaded like a released checkpoint
    output_dir = "runs/my_judge"
    train = ["data/train.jsonl"]     # .jsonl / .json / .parquet, records in the agreed format
    eval = ["data/eval.jsonl"]       # optional: held-out records for periodic and final evaluation

    [training]                       # JudgeTrainingConfig fields
    lr = 1e-4
    steps = 300
    batch_size = 8

    [training.mix]                   # optional task mixing ratios
    image_generation = 2
    video_generation = 1

    [ablation]                       # mode = "ablation" only
    judge = "generative"             # which trainer every judge uses
    tasks = ["image_generation", "image_understanding"]   # default: every task in the data
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, did_you_mean

# LoRA on the language model's projections only: the vision tower's layers share some of these names
# (SigLIP's q_proj...), so the pattern anchors on the language model's module path.
DEFAULT_LORA_TARGET = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
JOB_MODES = ("generative", "scalar", "ablation")
JUDGE_KINDS = ("generative", "scalar")
EVAL_HEADS = ("fast", "generative")
TIE_POLICIES = ("rao_kupper", "drop")
SCHEDULERS = ("constant", "linear", "cosine")
PRECISIONS = ("auto", "no", "bf16", "fp16")


@dataclass
class JudgeTrainingConfig:
    """Hyper-parameters of one judge-training run (generative SFT or scalar value head).

    Budget: ``steps`` optimizer steps of ``batch_size * grad_accum`` examples each; with ``steps`` unset,
    ``epochs`` passes over the training examples (rounded up to whole steps).
    """

    # budget and optimisation
    lr: float = 1e-4
    steps: int | None = None
    epochs: float = 1.0
    batch_size: int = 8
    grad_accum: int = 1
    weight_decay: float = 0.0
    warmup_steps: int = 0
    lr_scheduler: str = "constant"
    max_grad_norm: float | None = 1.0
    seed: int = 0
    # what is trained
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target: str | list[str] = DEFAULT_LORA_TARGET
    freeze_vision: bool = True  # full fine-tuning: keep the vision tower as it is
    # the judge backend plugin that loads and trains the base model (default: the one trainable backend)
    backend: str | None = None
    # data
    family: str | None = None  # template family (default: inferred from the base checkpoint)
    templates: dict[str, dict[str, str]] = field(default_factory=dict)  # task -> {mode: template id}
    mix: dict[str, float] = field(default_factory=dict)  # task -> sampling ratio (empty: by example count)
    randomize_order: bool = True
    drop_ties: bool = False
    max_length: int | None = None  # longer examples are left out and counted, never truncated
    frames: int = 8  # frames sampled evenly from each video
    # devices
    mixed_precision: str = "auto"  # auto: bf16 on a GPU, fp32 on the CPU
    load_dtype: str = "float32"
    device: str | None = None  # default: what accelerate picks (a GPU when present)
    # evaluation
    eval_every: int = 0  # optimizer steps between evaluations (0: only at the end)
    eval_head: str = "fast"
    eval_batch_size: int = 16
    eval_pointwise: bool = True
    eval_limit: int | None = None  # at most this many eval records per task and mode
    bootstrap: int = 1000
    # scalar head
    ties: str = "rao_kupper"  # rao_kupper: Bradley-Terry with ties; drop: leave tie pairs out
    point_weight: float = 1.0  # weight of the pointwise regression loss next to the pairwise loss
    head_lr: float = 0.01
    scalar_finetune: bool = False  # also train the judge (LoRA or full) through its last hidden state
    # output
    save: bool = True
    log_every: int = 10

    def __post_init__(self) -> None:
        problems = []
        if self.steps is not None and self.steps < 1:
            problems.append(f"steps must be >= 1, got {self.steps}")
        if self.steps is None and not self.epochs > 0:
            problems.append(f"epochs must be > 0, got {self.epochs}")
        for name in ("batch_size", "grad_accum", "eval_batch_size", "frames", "log_every"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0 or not self.head_lr > 0:
            problems.append("lr and head_lr must be > 0")
        for name, value, allowed in (("lr_scheduler", self.lr_scheduler, SCHEDULERS),
                                     ("eval_head", self.eval_head, EVAL_HEADS), ("ties", self.ties, TIE_POLICIES),
                                     ("mixed_precision", self.mixed_precision, PRECISIONS)):
            if value not in allowed:
                problems.append(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if self.eval_every < 0 or self.warmup_steps < 0:
            problems.append("eval_every and warmup_steps must be >= 0")
        if self.max_length is not None and self.max_length < 8:
            problems.append(f"max_length must be >= 8, got {self.max_length}")
        if problems:
            raise ConfigError("; ".join(problems), who="judge training config",
                              fix="Correct these settings in the [training] table (see docs/training.md, "
                                  "Hyper-parameters)")

    def optimizer_steps(self, n_examples: int) -> int:
        """The number of optimizer steps: ``steps``, or ``epochs`` over ``n_examples``."""
        if self.steps is not None:
            return int(self.steps)
        per_step = self.batch_size * self.grad_accum
        return max(1, math.ceil(self.epochs * n_examples / per_step))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, who: str = "[training]") -> JudgeTrainingConfig:
        """Build from a mapping (a TOML table); unknown keys are refused with a suggestion."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in data if k not in names]
        if unknown:
            raise ConfigError(f"unknown setting '{unknown[0]}'.{did_you_mean(unknown[0], names)}", who=who,
                              fix=f"Known settings: {', '.join(names)}")
        try:
            return cls(**dict(data))
        except TypeError as exc:
            raise ConfigError(str(exc), who=who,
                              fix="Give each setting a value of its type: numbers unquoted (steps = 300), "
                                  "true/false for switches, quoted strings for names") from exc


@dataclass
class TrainJudgeConfig:
    """One ``unireward train-judge`` job (see the module docstring for the TOML layout)."""

    mode: str
    base_model: str
    output_dir: Path
    train: list[str]
    eval: list[str] = field(default_factory=list)
    training: JudgeTrainingConfig = field(default_factory=JudgeTrainingConfig)
    ablation_judge: str = "generative"
    ablation_tasks: list[str] | None = None
    source: str = ""

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainJudgeConfig:
        import tomllib

        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the config: {exc.strerror or exc}", who=str(path),
                              fix="Check the path given to --config and that the file is readable") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML ({exc})", who=str(path),
                              fix="Fix the TOML syntax at the reported line (quote strings, e.g. mode = \"scalar\")"
                              ) from exc
        return cls.from_dict(data, base_dir=path.parent, who=str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base_dir: str | Path = ".", who: str = "config"
                  ) -> TrainJudgeConfig:
        """Relative paths (data files, output dir, a local base model) resolve against ``base_dir``."""
        base = Path(base_dir)
        known = {"mode", "base_model", "output_dir", "train", "eval", "training", "ablation"}
        unknown = [k for k in data if k not in known]
        if unknown:
            raise ConfigError(f"unknown key '{unknown[0]}'.{did_you_mean(unknown[0], known)}", who=who,
                              fix=f"Top-level keys: {', '.join(sorted(known))}")
        mode = data.get("mode", "generative")
        if mode not in JOB_MODES:
            raise ConfigError(f"mode must be one of {', '.join(JOB_MODES)}, got {mode!r}", who=who,
                              fix='Set mode = "generative", "scalar" or "ablation" (or pass --mode)')
        for key in ("base_model", "output_dir", "train"):
            if not data.get(key):
                raise ConfigError(f"'{key}' is missing", who=who, fix="See docs/training.md for a complete example")

        def paths(value: Any) -> list[str]:
            values = [value] if isinstance(value, str) else list(value or [])
            return [str(p if Path(p).is_absolute() else base / p) for p in values]

        base_model = str(data["base_model"])
        local = base / base_model
        if not Path(base_model).is_absolute() and local.exists():
            base_model = str(local)  # a local folder next to the config; otherwise a hub id
        ablation = dict(data.get("ablation") or {})
        unknown = [k for k in ablation if k not in ("judge", "tasks")]
        if unknown:
            raise ConfigError(f"unknown [ablation] key '{unknown[0]}'", who=who, fix="Use judge and tasks")
        judge = ablation.get("judge", "generative")
        if judge not in JUDGE_KINDS:
            raise ConfigError(f"[ablation] judge must be generative or scalar, got {judge!r}", who=who,
                              fix='Set judge = "generative" or judge = "scalar" in the [ablation] table')
        output = Path(data["output_dir"])
        return cls(
            mode=mode, base_model=base_model, output_dir=output if output.is_absolute() else base / output,
            train=paths(data["train"]), eval=paths(data.get("eval")),
            training=JudgeTrainingConfig.from_dict(data.get("training") or {}, who=f"{who} [training]"),
            ablation_judge=judge, ablation_tasks=list(ablation["tasks"]) if ablation.get("tasks") else None,
            source=who,
        )
