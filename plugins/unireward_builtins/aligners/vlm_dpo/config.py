"""Settings of the ``vlm_dpo`` aligner and the loss types it accepts (no torch at import)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from unireward_sdk.alignment import AlignerConfig
from unireward_sdk.errors import ConfigError, did_you_mean

# trl's DPO loss types (DPOConfig.loss_type); every one applies to image and video rows alike.
LOSS_TYPES = (
    "sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot", "aot_unpaired",
    "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm",
)


@dataclass
class VLMDPOConfig(AlignerConfig):
    """DPO settings. The defaults are the paper's recipe for LLaVA-OneVision / LLaVA-Video: sigmoid loss,
    β 0.1, learning rate 5e-7, 3 epochs, batch 1 × gradient accumulation 16, full fine-tuning.

    ``loss_type``: one of trl's loss types, or several combined with ``loss_weights`` (e.g. MPO).
    ``ref_model``: the reference checkpoint (or a saved vlm_dpo policy, e.g. the previous round's for
    iterative DPO). Unset, it is where this policy's DPO run started: the model with the LoRA adapter
    disabled, or a frozen copy of the starting weights for full fine-tuning; a saved policy records its
    reference, so a reloaded one is measured and trained against the same one. ``max_length`` caps prompt + answer tokens (a prompt whose media tokens alone
    reach it is an error, never silently cut); ``max_completion_length`` cuts answers.
    ``num_frames`` / ``video_max_pixels``: the evenly spaced frames each training or sampling video
    gives. ``completion_ends_at_eos``: each answer is trained up to its end-of-turn token and not the
    newline a chat template writes after it (generation stops at the token, so the newline is never
    sampled); off, the answer is trl's rendering, newline included.

    Objectives: ``loss_type = ("sigmoid",)`` is DPO. ``loss_type = ("sigmoid", "sft")`` is DPO plus a
    supervised term on the chosen answer (equal weights unless ``loss_weights``): it keeps the chosen
    answer's likelihood from falling with the rejected one's, which pure DPO on answers that differ in one
    word allows (the answers then run on). The testbed's QA policy improves with it and not with DPO alone. ``max_new_tokens`` / ``temperature`` / ``top_p``: what ``sample`` generates with.
    """

    beta: float = 0.1
    loss_type: tuple[str, ...] = ("sigmoid",)
    loss_weights: tuple[float, ...] | None = None
    label_smoothing: float = 0.0
    learning_rate: float = 5e-7
    num_train_epochs: int = 3
    gradient_accumulation_steps: int = 16
    lora: bool = False
    ref_model: str | None = None
    max_length: int | None = None
    max_completion_length: int | None = None
    completion_ends_at_eos: bool = True
    num_frames: int = 8
    video_max_pixels: int | None = None
    lr_scheduler_type: str = "linear"
    max_new_tokens: int = 128
    temperature: float = 1.0
    top_p: float = 1.0
    dataloader_workers: int = 0

    TRAINER_ARGS: ClassVar[str | None] = "trl:DPOConfig"
    # DPOConfig fields vlm_dpo fills from its own settings, or fixes because its design needs them
    TRAINER_ARGS_OWNED: ClassVar[Mapping[str, str]] = {
        "output_dir": "output_dir", "per_device_train_batch_size": "batch_size",
        "per_device_eval_batch_size": "batch_size", "gradient_accumulation_steps": "gradient_accumulation_steps",
        "learning_rate": "learning_rate", "num_train_epochs": "num_train_epochs", "max_steps": "max_steps",
        "lr_scheduler_type": "lr_scheduler_type", "warmup_steps": "warmup_steps", "weight_decay": "weight_decay",
        "max_grad_norm": "max_grad_norm", "seed": "seed", "bf16": "mixed_precision", "fp16": "mixed_precision",
        "gradient_checkpointing": "gradient_checkpointing", "beta": "beta", "loss_type": "loss_type",
        "loss_weights": "loss_weights", "label_smoothing": "label_smoothing", "max_length": "max_length",
        "dataloader_num_workers": "dataloader_workers", "trust_remote_code": "trust_remote_code",
        "save_strategy": "save_every", "save_steps": "save_every", "resume_from_checkpoint": "resume_from_checkpoint",
        "eval_strategy": "eval_data with `unireward align --evaluate` (held-out pairs after training)",
        "precompute_ref_log_probs": "nothing (vlm_dpo runs the reference alongside: trl refuses it for vision rows)",
        "truncation_mode": "max_completion_length (vlm_dpo keeps the start of each prompt)",
        "use_cpu": "nothing (vlm_dpo picks the device)",
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        who = type(self).__name__
        if isinstance(self.loss_type, str):
            self.loss_type = (self.loss_type,)
        self.loss_type = tuple(self.loss_type)
        if isinstance(self.loss_weights, list):
            self.loss_weights = tuple(float(w) for w in self.loss_weights)
        if not self.loss_type:
            raise ConfigError("loss_type is empty", who=who, fix="Use 'sigmoid' (the paper's loss)")
        for name in self.loss_type:
            if name not in LOSS_TYPES:
                raise ConfigError(f"unknown loss_type {name!r}.{did_you_mean(name, LOSS_TYPES)}", who=who,
                                  fix=f"Use one of: {', '.join(LOSS_TYPES)}")
        if self.loss_weights is not None and len(self.loss_weights) != len(self.loss_type):
            raise ConfigError(f"{len(self.loss_weights)} loss_weights for {len(self.loss_type)} loss types", who=who,
                              fix="Give one weight per loss type")
        if "exo_pair" in self.loss_type and self.label_smoothing <= 0:
            raise ConfigError("the exo_pair loss needs label_smoothing > 0", who=who,
                              fix="Set label_smoothing = 1e-3 (the EXO paper's value)")
        if self.beta <= 0:
            raise ConfigError(f"beta must be positive, got {self.beta!r}", who=who, fix="Set beta > 0 (default 0.1)")
        for name in ("max_length", "max_completion_length", "video_max_pixels"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ConfigError(f"{name} must be at least 1 or unset, got {value!r}", who=who,
                                  fix=f"Set {name} to a positive integer, or leave it unset")
        if self.num_frames < 1 or self.max_new_tokens < 1:
            raise ConfigError("num_frames and max_new_tokens must be at least 1", who=who,
                              fix="Set num_frames and max_new_tokens to 1 or more (defaults 8 and 128)")
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise ConfigError(f"sampling needs temperature > 0 and 0 < top_p <= 1, got {self.temperature!r}, "
                              f"{self.top_p!r}", who=who, fix="Use temperature = 1.0, top_p = 1.0")
