"""What the trainers share: accelerate setup, loading the base judge like a released checkpoint, template
choice per task, and the heads used to evaluate. Torch and accelerate are imported inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError, TemplateError
from .config import JudgeTrainingConfig
from .records import TrainingRecord, load_records


def as_records(source: Any) -> list[TrainingRecord]:
    """Records from whatever the trainers accept (paths, a Dataset, dicts, TrainingRecords); None -> []."""
    if source is None:
        return []
    if isinstance(source, (list, tuple)) and all(isinstance(r, TrainingRecord) for r in source):
        return list(source)
    return load_records(source)


def make_accelerator(config: JudgeTrainingConfig):
    """An ``accelerate.Accelerator`` for the config: gradient accumulation, bf16 on a GPU, fp32 on the CPU."""
    import torch
    from accelerate import Accelerator

    on_cpu = config.device == "cpu" or (config.device is None and not torch.cuda.is_available())
    precision = config.mixed_precision
    if precision == "auto":
        precision = "no" if on_cpu else ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    if on_cpu and precision != "no":
        precision = "no"  # mixed precision on the CPU is slow and buys nothing here
    options = dict(gradient_accumulation_steps=config.gradient_accumulation_steps, mixed_precision=precision,
                   cpu=on_cpu)
    try:
        return Accelerator(**options)
    except ValueError:
        # accelerate keeps one process-wide state; a later run in the same process on another device or
        # precision (a CPU run after a GPU one) is refused. With one process, starting that state afresh is
        # safe; under a distributed launch it is not, so the refusal stands there.
        from accelerate.state import AcceleratorState, GradientState, PartialState

        if PartialState().use_distributed:
            raise
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
        return Accelerator(**options)


def trainable_backend_name(registry: Any, config: JudgeTrainingConfig) -> str:
    """The backend that loads the judge for training: ``config.backend`` when set (it must be trainable),
    else the one installed backend with the ``trainable`` capability."""
    from ..errors import CapabilityError
    from ..interfaces import TRAINABLE

    able = registry.backends_with(TRAINABLE)
    chosen = getattr(config, "backend", None)
    if chosen is not None:
        spec = registry.backend_spec(chosen)  # an unknown name: did-you-mean
        if not spec.provides(TRAINABLE):
            raise CapabilityError(
                f"backend '{chosen}' cannot be trained (it offers {', '.join(spec.capabilities) or 'nothing'})",
                who="[training] backend",
                fix=f"Set backend to one with the '{TRAINABLE}' capability ({', '.join(able) or 'none installed'})",
            )
        return chosen
    if not able:
        raise CapabilityError(f"no installed backend has the '{TRAINABLE}' capability, so no judge can be trained",
                              who="judge training",
                              fix="Install a backend plugin whose spec lists 'trainable' (`unireward plugins --json`)")
    if len(able) > 1:
        raise ConfigError(f"several backends can train a judge ({', '.join(able)}) and none is chosen",
                          who="[training] backend", fix=f"Set backend to one of {', '.join(able)}")
    return able[0]


def load_backend(registry: Any, base_model: str, config: JudgeTrainingConfig, device: Any, *,
                 family: str | None = None):
    """The base judge through the trainable backend (see :func:`trainable_backend_name`): the same loading
    path, chat template and request rendering as ``unireward score``."""
    from ..interfaces import TRAINABLE, require_capabilities

    name = trainable_backend_name(registry, config)
    backend = registry.backend(
        name, checkpoint=str(base_model), dtype=config.load_dtype, device=str(device),
        family=family or config.family, batch_size=config.eval_batch_size,
    )
    require_capabilities(backend, (TRAINABLE,), who=f"judge training (backend '{name}')")
    return backend


def template_id(registry: Any, task_name: str, mode: str, family: str, config: JudgeTrainingConfig) -> str:
    """The template a task is trained and evaluated with in ``mode``: the config's, else the family default."""
    chosen = (config.templates or {}).get(task_name, {}).get(mode)
    return chosen or registry.task(task_name).default_template(mode, family)


def evaluation_head(registry: Any, backend: Any, task_name: str, config: JudgeTrainingConfig, media: Any,
                    family: str) -> Any:
    """The configured evaluation head for one task (``fast`` falls back to ``generative`` on templates
    without a single-pass readout, e.g. chain-of-thought)."""
    task = registry.task(task_name)
    pairwise = pointwise = None
    try:
        pairwise = template_id(registry, task_name, "pairwise", family, config)
    except TemplateError:
        pass
    try:
        pointwise = template_id(registry, task_name, "pointwise", family, config)
    except TemplateError:
        pass
    head_name = config.eval_head
    if head_name == "fast":
        readable = [t for t in (pairwise, pointwise) if t is not None and task.template(t).readout is not None]
        if len(readable) < len([t for t in (pairwise, pointwise) if t is not None]):
            head_name = "generative"
    return registry.reward_head(head_name, backend=backend, task=task_name, template=pairwise,
                                pointwise_template=pointwise, batch_size=config.eval_batch_size,
                                registry=registry, media=media)


def vision_parameter(name: str) -> bool:
    """Whether a parameter belongs to the vision tower (Qwen-VL ``visual``, LLaVA ``vision_tower``)."""
    return ".visual." in f".{name}" or "vision_tower" in name or name.startswith("visual.")


def make_trainable(model: Any, config: JudgeTrainingConfig) -> tuple[Any, int]:
    """Wrap ``model`` for training: LoRA adapters (peft) or full fine-tuning. Returns (model, trainable count).

    LoRA is injected in place, so the backend's model object computes with the adapters too (heads used
    for evaluation see the model being trained).
    """
    if config.lora:
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigError("LoRA training needs peft", fix="pip install 'unireward-sdk[train]' or set lora = false") \
                from exc
        target = config.lora_target_modules
        lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                          target_modules=target if isinstance(target, str) else list(target), bias="none")
        try:
            model = get_peft_model(model, lora)
        except ValueError as exc:
            raise ConfigError(f"LoRA found no layer to adapt ({exc})", who="lora_target_modules",
                              fix="Set lora_target_modules to a regex or a list of the language model's module names"
                              ) from exc
    elif config.freeze_vision:
        for name, parameter in model.named_parameters():
            if vision_parameter(name):
                parameter.requires_grad_(False)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return model, trainable


def merged_model(model: Any, config: JudgeTrainingConfig) -> Any:
    """The plain transformers model to save: LoRA adapters merged into the weights (safetensors-ready)."""
    if config.lora and hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model


def save_judge(model: Any, processor: Any, folder: Any) -> None:
    """Weights (safetensors) + processor (tokenizer, image/video processors, chat template) in one folder,
    the layout ``from_pretrained`` and ``unireward score --model`` read."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)


def scheduler(optimizer: Any, config: JudgeTrainingConfig, steps: int):
    from transformers import get_scheduler

    name = {"constant": "constant_with_warmup"}.get(config.lr_scheduler_type, config.lr_scheduler_type)
    return get_scheduler(name, optimizer, num_warmup_steps=config.warmup_steps, num_training_steps=steps)


def count_by_task(tasks: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tasks:
        out[t] = out.get(t, 0) + 1
    return out
