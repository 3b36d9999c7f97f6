"""Configuration of judge training: one record of hyper-parameters, and the TOML file the CLI reads.

``JudgeTrainingConfig`` is shared by the generative trainer, the trainers that reward heads bring (the
built-in ``scalar`` value head) and the ablation runner (which gives every judge the same one, so their
budgets match). ``TrainJudgeConfig`` is the whole job of ``unireward train-judge --config FILE.toml``::

    mode = "generative"              # generative | ablation | a reward head with a trainer (e.g. "scalar")
    base_model = "runs/base_judge"   # hub id or local folder, loaded like a released checkpoint
    output_dir = "runs/my_judge"
    train = ["data/train.jsonl"]     # .jsonl / .json / .parquet, records in the agreed format
    eval = ["data/eval.jsonl"]       # optional: held-out records for periodic and final evaluation

    [training]                       # JudgeTrainingConfig fields (the trl / transformers names)
    learning_rate = 1e-4
    max_steps = 300
    batch_size = 8

    [training.mix]                   # optional task mixing ratios
    image_generation = 2
    video_generation = 1

    [training.head_options]          # the options of the trained head's trainer (`unireward plugins --options`)

    [ablation]                       # mode = "ablation" only
    judge = "generative"             # which trainer every judge uses ("generative" or a head with a trainer)
    tasks = ["image_generation", "image_understanding"]   # default: every task in the data

Both are :class:`~unireward_sdk.config.JobConfig` records: unknown keys get a did-you-mean, the former names
(``lr``, ``steps``, ``grad_accum``...) are refused naming the new one, and relative paths resolve against
the config file's folder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import field, frozen

from ..config import HYPERPARAMETER_RENAMES, JobConfig, checkpoint_field, internal_field, model_field, path_field
from ..errors import ConfigError

# LoRA on the language model's projections only: the vision tower's layers share some of these names
# (SigLIP's q_proj...), so the pattern anchors on the language model's module path.
DEFAULT_LORA_TARGET = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
# the trainer the core owns: fine-tuning the judge model itself to write its verdicts (SFT)
GENERATIVE = "generative"
ABLATION = "ablation"
SCHEDULERS = ("constant", "linear", "cosine")
PRECISIONS = ("auto", "no", "bf16", "fp16")



@frozen(kw_only=True)
class JudgeTrainingConfig(JobConfig):
    """Hyper-parameters of one judge-training run (generative SFT, or a head's own trainer).

    Budget: ``max_steps`` optimizer steps of ``batch_size * gradient_accumulation_steps`` examples each;
    with ``max_steps`` unset, ``num_train_epochs`` passes over the training examples (rounded up to whole steps).
    ``head_options`` go to the trained head's trainer, which declares and checks them.
    """

    TABLE = "training"
    RENAMED = HYPERPARAMETER_RENAMES
    # a head's own settings are its trainer's options, which the core does not name
    UNKNOWN_HINT = ("A setting of the trained head (its losses, its own learning rate...) goes in "
                    "[training.head_options]; `unireward plugins --options HEAD` lists them")

    # budget and optimisation
    learning_rate: float = 1e-4
    max_steps: int | None = None
    num_train_epochs: float = 1.0
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.0
    warmup_steps: int = 0
    lr_scheduler_type: str = "constant"
    max_grad_norm: float | None = 1.0
    seed: int = 0
    # what is trained
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: str | list[str] = DEFAULT_LORA_TARGET
    freeze_vision: bool = True  # full fine-tuning: keep the vision tower as it is
    # the judge backend plugin that loads and trains the base model (default: the one trainable backend)
    backend: str | None = None
    # data
    family: str | None = None  # template family (default: inferred from the base checkpoint)
    templates: dict[str, dict[str, str]] = field(factory=dict)  # task -> {mode: template id}
    mix: dict[str, float] = field(factory=dict)  # task -> sampling ratio (empty: by example count)
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
    eval_head: str = "fast"  # any registered reward head (`fast` falls back to `generative` without a readout)
    eval_batch_size: int = 16
    eval_pointwise: bool = True
    eval_limit: int | None = None  # at most this many eval records per task and mode
    bootstrap: int = 1000
    # the trained head's own settings, checked against the options its trainer declares
    head_options: dict[str, Any] = field(factory=dict, converter=dict)
    # output
    save: bool = True
    log_every: int = 10
    # every N optimizer steps, a resumable checkpoint-<step> folder in the output folder (None: none)
    save_every: int | None = None
    # "latest" (the highest checkpoint-<step> in the output folder) or a checkpoint folder to continue from
    resume_from_checkpoint: str | None = checkpoint_field(None)

    def __attrs_post_init__(self) -> None:
        problems = []
        if self.max_steps is not None and self.max_steps < 1:
            problems.append(f"max_steps must be >= 1, got {self.max_steps}")
        if self.max_steps is None and not self.num_train_epochs > 0:
            problems.append(f"num_train_epochs must be > 0, got {self.num_train_epochs}")
        for name in ("batch_size", "gradient_accumulation_steps", "eval_batch_size", "frames", "log_every"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            problems.append("learning_rate must be > 0")
        for name, value, allowed in (("lr_scheduler_type", self.lr_scheduler_type, SCHEDULERS),
                                     ("mixed_precision", self.mixed_precision, PRECISIONS)):
            if value not in allowed:
                problems.append(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if self.save_every is not None and self.save_every < 1:
            problems.append(f"save_every must be >= 1 or unset, got {self.save_every}")
        if self.eval_every < 0 or self.warmup_steps < 0:
            problems.append("eval_every and warmup_steps must be >= 0")
        if self.max_length is not None and self.max_length < 8:
            problems.append(f"max_length must be >= 8, got {self.max_length}")
        if problems:
            raise ConfigError("; ".join(problems), who="judge training config",
                              fix="Correct these settings in the [training] table (see docs/training.md, "
                                  "Hyper-parameters)")

    def optimizer_steps(self, n_examples: int) -> int:
        """The number of optimizer steps: ``max_steps``, or ``num_train_epochs`` over ``n_examples``."""
        if self.max_steps is not None:
            return int(self.max_steps)
        per_step = self.batch_size * self.gradient_accumulation_steps
        return max(1, math.ceil(self.num_train_epochs * n_examples / per_step))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None, *, who: str = "[training]", **kwargs: Any
                  ) -> JudgeTrainingConfig:
        """Build from a mapping (a TOML table); unknown or renamed keys are refused with the right name."""
        return cls.from_mapping(data, who=who, **kwargs)


def _trainable_head(registry: Any, name: str, who: str, where: str) -> Any:
    """The spec of reward head ``name``, which must bring a trainer; ``None`` for generative SFT."""
    if name == GENERATIVE:
        return None
    spec = registry.reward_head_spec(name)
    if spec.trainer is None:
        trainable = [n for n in registry.names("reward_head") if registry.reward_head_spec(n).trainer is not None]
        raise ConfigError(f"{where} {name!r} is not trainable: its reward head has no trainer", who=who,
                          fix=f"Use {GENERATIVE!r} (fine-tune the judge) or a head with a trainer: "
                              f"{', '.join(trainable) or 'none is installed'}")
    return spec


@frozen(kw_only=True)
class TrainJudgeConfig(JobConfig):
    """One ``unireward train-judge`` job (see the module docstring for the TOML layout).

    ``mode`` is ``generative`` (fine-tune the judge), ``ablation``, or a reward head whose spec carries a
    trainer; heads are looked up in the registry, never in a list of the core's.
    """

    mode: str = GENERATIVE
    base_model: str = model_field()
    output_dir: Path = path_field(converter=Path)
    train: list[str] = path_field(converter=lambda v: [v] if isinstance(v, str) else list(v))
    eval: list[str] = path_field(factory=list, converter=lambda v: [v] if isinstance(v, str) else list(v or []))
    training: JudgeTrainingConfig = field(factory=JudgeTrainingConfig)
    ablation: dict[str, Any] = field(factory=dict, converter=dict)
    source: str = internal_field("")
    registry: Any = internal_field()
    # task -> the validated Pipeline the judge is evaluated with, for the tasks the config names
    pipelines: dict[str, Any] = internal_field(init=False)

    def __attrs_post_init__(self) -> None:
        who = self.source or "train-judge config"
        if not self.train:
            raise ConfigError("'train' is empty", who=who, fix="List the training record files in 'train'")
        unknown = [k for k in self.ablation if k not in ("judge", "tasks")]
        if unknown:
            raise ConfigError(f"unknown [ablation] key '{unknown[0]}'", who=who, fix="Use judge and tasks")
        registry = self.registry
        if registry is None:
            from ..registry import get_registry

            registry = get_registry()
        if self.mode != ABLATION:
            _trainable_head(registry, self.mode, who, "mode")
        spec = _trainable_head(registry, self.trained_head, who, "[ablation] judge")
        registry.reward_head_spec(self.training.eval_head)  # an unknown eval head fails here, with a did-you-mean
        options = getattr(spec, "trainer_options", None) if spec is not None else ()
        if options is not None:  # None: the trainer declares no schema and checks its options itself
            from ..options import validate_options

            validate_options(options, self.training.head_options, who=f"{who} [training.head_options]")
        object.__setattr__(self, "pipelines", self._evaluation_pipelines(registry, who))

    def _evaluation_pipelines(self, registry: Any, who: str) -> dict[str, Any]:
        """The evaluation head, task and chosen templates of every task the config names, as Pipelines:
        a head that cannot judge a task, or a template of another task, fails before training starts."""
        from ..errors import UniRewardError
        from ..pipeline import Pipeline

        named = [*self.training.templates, *self.training.mix, *(self.ablation_tasks or [])]
        out = {}
        for task in dict.fromkeys(named):
            chosen = self.training.templates.get(task) or {}
            try:
                out[task] = Pipeline(task=task, mode="pairwise", head=self.training.eval_head,
                                     template=chosen.get("pairwise"), pointwise_template=chosen.get("pointwise"),
                                     registry=registry)
            except UniRewardError as exc:  # said again with the file and the task the user has to edit
                try:
                    located = type(exc)(exc.what, who=f"{who} (task {task!r})", fix=exc.fix)
                except TypeError:  # a subclass with its own constructor
                    located = ConfigError(exc.what, who=f"{who} (task {task!r})", fix=exc.fix)
                raise located from exc
        return out

    @property
    def trained_head(self) -> str:
        """What every run trains: ``generative`` or the name of a head with a trainer."""
        return self.ablation.get("judge", GENERATIVE) if self.mode == ABLATION else self.mode

    @property
    def ablation_judge(self) -> str:
        return self.ablation.get("judge", GENERATIVE)

    @property
    def ablation_tasks(self) -> list[str] | None:
        return list(self.ablation["tasks"]) if self.ablation.get("tasks") else None

    @classmethod
    def _from_values(cls, values: dict[str, Any], *, base_dir: Any, who: str) -> TrainJudgeConfig:
        training = values.get("training")
        if not isinstance(training, JudgeTrainingConfig):
            values["training"] = JudgeTrainingConfig.from_mapping(training or {}, who=f"{who} [training]")
        return cls(**values, source=who)
