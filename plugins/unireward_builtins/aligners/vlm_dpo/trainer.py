"""The ``vlm_dpo`` aligner: loading a vision-language policy, DPO through trl, sampling, saving.

Training is trl's ``DPOTrainer`` (its losses, reference handling, metrics, accelerate for devices,
processes and mixed precision) with two changes in a thin subclass: our collator, which also feeds
videos, and our columns. One trainer is built on the first ``train``/``evaluate`` call and reused; every
``train`` call runs its own optimizer and learning-rate schedule over the pairs it is given, against the
same reference (where the policy's DPO run started, which a saved policy records).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs
import torch

from unireward_sdk.alignment import (
    POLICY_FILE,
    EvalResult,
    ProgressCallback,
    StepMetrics,
    TrainSummary,
    load_image,
    policy_info,
    read_pairs,
)
from unireward_sdk.checkpoints import find_checkpoint
from unireward_sdk.model_refs import check_reference, load_error
from unireward_sdk.errors import ConfigError, ModelLoadError
from unireward_sdk.records import Candidate, Provenance

from .collator import VisionVideoPreferenceCollator
from .data import (
    SIGNATURE_COLUMNS,
    VideoFrames,
    structured_messages,
    to_dataset,
    uniform_rows,
    with_media_placeholders,
)
from .config import VLMDPOConfig

POLICY_FORMAT = "unireward-vlm-policy/1"
# the language model's projections: LoRA on the text decoder, the vision tower stays as it is
DEFAULT_LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


def prompt_seed(seed: int, prompt_index: int) -> int:
    """The seed of one prompt's candidates: distinct per (seed, prompt position), stable across runs."""
    digest = hashlib.sha256(f"vlm_dpo:{seed}:{prompt_index}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def read_policy_info(path: str | Path) -> dict[str, Any] | None:
    """The ``unireward_policy.json`` of a policy ``vlm_dpo`` saved, or None for any other model."""
    info = policy_info(path)
    if info is not None and info.get("format") != POLICY_FORMAT:
        raise ModelLoadError(f"not a vlm_dpo policy (format {info.get('format')!r})",
                             who=str(Path(path) / POLICY_FILE), fix="Load it with the aligner that saved it")
    return info


def _trainer_class():
    from trl import DPOTrainer

    class VisionVideoDPOTrainer(DPOTrainer):
        """trl's DPOTrainer, keeping the columns our collator reads (trl would drop ``videos``)."""

        def _set_signature_columns_if_needed(self):
            if self._signature_columns is None:
                self._signature_columns = list(SIGNATURE_COLUMNS)

    return VisionVideoDPOTrainer


def _recorder_class():
    from transformers import TrainerCallback

    class MetricsRecorder(TrainerCallback):
        """Turns trl's per-step logs into StepMetrics, reports progress, writes periodic checkpoints."""

        def __init__(self, aligner: VLMDPOAligner):
            self.aligner = aligner
            self.history: list[StepMetrics] = []
            self.callback: ProgressCallback | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            # a resumed run starts with the steps its checkpoint logged
            self.history = [metrics for logs in state.log_history if (metrics := _step_metrics(logs, state))]

        def on_log(self, args, state, control, logs=None, **kwargs):
            metrics = _step_metrics(logs, state)
            if metrics is None:
                return  # evaluation logs and the end-of-training summary
            self.history.append(metrics)
            if self.callback is not None and state.is_world_process_zero:
                self.callback(metrics, state.max_steps)

        def on_step_end(self, args, state, control, **kwargs):
            self.aligner._steps_this_run = state.global_step

        def on_save(self, args, state, control, **kwargs):
            # the checkpoint transformers just wrote is also a policy from_pretrained reloads
            self.aligner.save_pretrained(Path(args.output_dir) / f"checkpoint-{state.global_step}")

    return MetricsRecorder


def _step_metrics(logs: Mapping[str, Any] | None, state: Any) -> StepMetrics | None:
    """One training step's StepMetrics from trl's log entry, or None for other entries."""
    if not logs or "loss" not in logs or "rewards/margins" not in logs:
        return None
    return StepMetrics(step=int(logs.get("step", state.global_step)), loss=float(logs["loss"]),
                       margin=float(logs["rewards/margins"]), accuracy=float(logs["rewards/accuracies"]),
                       learning_rate=float(logs.get("learning_rate", 0.0)), epoch=float(logs.get("epoch", 0.0)))


class VLMDPOAligner:
    """DPO for a vision-language policy (see :class:`VLMDPOConfig`)."""

    name: ClassVar[str] = "vlm_dpo"
    config_class = VLMDPOConfig
    pair_formats: ClassVar[tuple[str, ...]] = ("trl", "records")

    # --- construction ---------------------------------------------------------------------------

    def __init__(self, config: Any = None, *, registry: Any = None, **overrides: Any):
        from accelerate import PartialState
        from accelerate.utils import set_seed

        self.config = cfg = self.config_class.coerce(config, **overrides)
        if not cfg.model:
            raise ConfigError("no model given", who=self.name,
                              fix="Set model to a vision-language checkpoint folder or hub id")
        self._registry = registry
        model_ref = str(cfg.model)
        info = read_policy_info(model_ref) if Path(model_ref).is_dir() else None
        adapter_dir = None
        self.base_model = model_ref
        if info is not None and info.get("lora"):
            adapter_dir, self.base_model = Path(model_ref), str(info["base_model"])
            if not cfg.lora:
                raise ConfigError("this policy is a LoRA adapter and cannot continue as full fine-tuning",
                                  who=f"{self.name}: {model_ref}", fix="Keep lora = true for this policy")
        self.device = PartialState().device
        set_seed(cfg.seed)  # a new LoRA adapter's initial weights come from the seed, too
        self.processor = self._load_processor(model_ref)
        model = self._load_model(self.base_model)
        if adapter_dir is not None:
            from peft import PeftModel

            _require_safetensors_adapter(adapter_dir, self.name)
            model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=True)
        elif cfg.lora:
            model = self._add_lora(model)
        # The reference is where this policy's DPO run started, and a saved policy remembers it: a new LoRA
        # adapter is measured against the model with the adapter disabled, full fine-tuning against a frozen
        # copy of the starting weights, a reloaded policy against the reference it was trained with.
        self.reference_model = cfg.ref_model or (info or {}).get("reference_model")
        self._ref_model = None
        if self.reference_model:
            self._ref_model = self._load_frozen(str(self.reference_model))
        elif not cfg.lora:
            self._ref_model = copy.deepcopy(model).requires_grad_(False).eval()
            self.reference_model = _portable(model_ref)
        self.model = model.to(self.device)
        if self._ref_model is not None:
            self._ref_model.to(self.device)
        self.frames = VideoFrames(cfg.num_frames, cfg.video_max_pixels, registry=registry)
        self.collator = VisionVideoPreferenceCollator(self.processor, self.frames, max_length=cfg.max_length,
                                                      max_completion_length=cfg.max_completion_length,
                                                      completion_ends_at_eos=cfg.completion_ends_at_eos, who=self.name)
        self._trainer = None
        self._recorder = None
        self.trained_steps = int(info.get("trained_steps", 0)) if info else 0
        self._steps_this_run = 0  # optimizer steps of a train() call in progress (for its checkpoints)

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides: Any) -> VLMDPOAligner:
        """Reload a policy written by :meth:`save_pretrained` (or start from any vision-language model)."""
        info = read_policy_info(path) if Path(path).is_dir() else None
        saved = dict(info.get("config", {})) if info else {}
        known = cls.config_class.field_names()
        values = {k: v for k, v in saved.items() if k in known and k not in ("model", "ref_model")}
        values.update(overrides)
        values["model"] = str(path)
        return cls(cls.config_class.from_mapping(values, who=f"{cls.name}: {path}"))

    def _load_processor(self, ref: str):
        from transformers import AutoProcessor, ProcessorMixin

        check_reference(ref, who=f"{self.name}: {ref}")  # a missing folder or an uncached id offline: say so now
        try:
            processor = AutoProcessor.from_pretrained(ref, trust_remote_code=self.config.trust_remote_code)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"could not load the processor ({exc})", who=f"{self.name}: {ref}",
                                 fix="Point model at a folder or hub id with the processor files") from exc
        if not isinstance(processor, ProcessorMixin):
            raise ModelLoadError(f"{type(processor).__name__} is a tokenizer, not a multimodal processor",
                                 who=f"{self.name}: {ref}", fix="vlm_dpo trains vision-language models")
        return processor

    def _load_model(self, ref: str):
        from transformers import AutoModelForImageTextToText

        try:
            # safetensors only: unpickling a checkpoint runs arbitrary code
            return AutoModelForImageTextToText.from_pretrained(ref, dtype=torch.float32, use_safetensors=True,
                                                               trust_remote_code=self.config.trust_remote_code)
        except (OSError, ValueError) as exc:
            raise load_error(exc, ref, who=f"{self.name}: {ref}",
                             what="could not load a vision-language model") from exc

    def _add_lora(self, model):
        from peft import LoraConfig, get_peft_model

        cfg = self.config
        targets = list(cfg.lora_target_modules) if cfg.lora_target_modules else DEFAULT_LORA_TARGETS
        config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.effective_lora_alpha, lora_dropout=cfg.lora_dropout,
                            target_modules=targets)
        try:
            return get_peft_model(model, config)
        except ValueError as exc:  # e.g. target modules that match nothing in this architecture
            raise ConfigError(f"could not add the LoRA adapter ({exc})", who=self.name,
                              fix="Set lora_target_modules to module names of this model") from exc

    def _load_frozen(self, ref: str):
        """A reference model, frozen: a checkpoint, or a policy vlm_dpo saved (a LoRA one merged into its base)."""
        info = read_policy_info(ref) if Path(ref).is_dir() else None
        if info is not None and info.get("lora"):
            from peft import PeftModel

            _require_safetensors_adapter(Path(ref), self.name)
            model = PeftModel.from_pretrained(self._load_model(str(info["base_model"])), ref).merge_and_unload()
        else:
            model = self._load_model(ref)
        return model.requires_grad_(False).eval()

    # --- the trl trainer ------------------------------------------------------------------------

    def _dpo_args(self):
        from trl import DPOConfig

        cfg = self.config
        fixed = dict(
            output_dir=cfg.output_dir,
            per_device_train_batch_size=cfg.batch_size,
            per_device_eval_batch_size=cfg.batch_size,
            gradient_accumulation_steps=cfg.gradient_accumulation_steps,
            learning_rate=cfg.learning_rate,
            num_train_epochs=cfg.num_train_epochs,
            max_steps=cfg.max_steps or -1,
            lr_scheduler_type=cfg.lr_scheduler_type,
            warmup_steps=cfg.warmup_steps,
            weight_decay=cfg.weight_decay,
            max_grad_norm=cfg.max_grad_norm or 0.0,
            seed=cfg.seed,
            bf16=cfg.mixed_precision == "bf16",
            fp16=cfg.mixed_precision == "fp16",
            use_cpu=self.device.type == "cpu",  # transformers only allows bf16 autocast on a CPU when told so
            gradient_checkpointing=cfg.gradient_checkpointing,
            beta=cfg.beta,
            loss_type=list(cfg.loss_type),
            loss_weights=list(cfg.loss_weights) if cfg.loss_weights else None,
            label_smoothing=cfg.label_smoothing,
            max_length=cfg.max_length,
            truncation_mode="keep_start",
            precompute_ref_log_probs=False,  # trl refuses it for vision rows; the reference runs alongside
            dataloader_num_workers=cfg.dataloader_workers,
            logging_steps=1,
            # transformers writes the checkpoints (optimizer, scheduler, RNG, trainer state) so they resume
            save_strategy="steps" if cfg.save_every else "no",
            save_steps=cfg.save_every or 500,
            report_to=[],
            disable_tqdm=True,
            trust_remote_code=cfg.trust_remote_code,
        )
        # trainer_args (checked against DPOConfig's fields by the config) are passed on as they are
        return DPOConfig(**{**fixed, **cfg.trainer_args})

    def _trainer_for(self, dataset: Any):
        if self._trainer is not None:
            trainer = self._trainer
            trainer.train_dataset = dataset
            trainer.optimizer, trainer.lr_scheduler = None, None  # each train() call runs its own schedule
            return trainer
        from transformers import PrinterCallback

        self._recorder = _recorder_class()(self)
        try:
            trainer = _trainer_class()(
                model=self.model, ref_model=self._ref_model, args=self._dpo_args(), data_collator=self.collator,
                train_dataset=dataset, processing_class=self.processor, callbacks=[self._recorder],
            )
        except ValueError as exc:  # trl refusing a setting
            raise ConfigError(str(exc), who=self.name, fix="Check the vlm_dpo settings named above") from exc
        trainer.remove_callback(PrinterCallback)  # progress goes through our callback, not printed dicts
        peft_config = getattr(self.model, "peft_config", {})
        if self._ref_model is None and "ref" in peft_config:
            # trl copies an existing adapter as the reference; ours is the model with the adapter disabled
            self.model.delete_adapter("ref")
        self._trainer = trainer
        return trainer

    def _dataset(self, pairs: Any, format: str):
        table = read_pairs(pairs, format)
        rows, dropped = uniform_rows(table, who=self.name)
        if not rows:
            detail = ", ".join(f"{n} {why}" for why, n in dropped.items()) or "none given"
            raise ConfigError(f"no pairs left to train on (dropped: {detail})", who=f"{self.name}: {table.source}",
                              fix="Pairs whose chosen and rejected answers are the same teach nothing")
        return to_dataset(rows), dropped

    # --- training and evaluation ----------------------------------------------------------------

    def train(self, pairs: Any, *, format: str = "auto", callback: ProgressCallback | None = None) -> TrainSummary:
        """DPO on the pairs (trl vision rows with ``images`` and/or ``videos``, or PreferencePair records)."""
        dataset, dropped = self._dataset(pairs, format)
        trainer = self._trainer_for(dataset)
        self._recorder.callback = callback
        resume = None
        if self.config.resume_from_checkpoint:  # transformers' own resume: weights, optimizer, scheduler, RNG
            resume = str(find_checkpoint(self.config.resume_from_checkpoint, self.config.output_dir,
                                         marker="trainer_state.json", who=self.name))
            self.config = dataclasses.replace(self.config, resume_from_checkpoint=None)  # once, not every train()
        try:
            trainer.train(resume_from_checkpoint=resume)
        finally:
            self._recorder.callback = None
            self._steps_this_run = 0
        history = list(self._recorder.history)
        self.trained_steps += trainer.state.global_step  # logging_steps may log fewer steps than were run
        summary = TrainSummary.from_history(self.name, history, pairs=len(dataset), dropped=dropped)
        return attrs.evolve(summary, steps=trainer.state.global_step)

    @torch.no_grad()
    def evaluate(self, pairs: Any, *, seed: int = 0, format: str = "auto") -> EvalResult:
        """DPO loss, reward margin and accuracy of the current policy against its reference, no update.
        Deterministic (no sampling, dropout off); ``seed`` is accepted for the shared aligner interface."""
        dataset, _ = self._dataset(pairs, format)
        metrics = self._trainer_for(dataset).evaluate(eval_dataset=dataset)
        return EvalResult(loss=float(metrics["eval_loss"]), margin=float(metrics["eval_rewards/margins"]),
                          accuracy=float(metrics["eval_rewards/accuracies"]), pairs=len(dataset))

    @torch.no_grad()
    def sequence_logps(self, pairs: Any, *, format: str = "auto") -> list[tuple[float, float]]:
        """Per pair, the policy's summed log-probability of the chosen and of the rejected answer given the
        prompt and its media: the quantities DPO compares (handy to check what the media change)."""
        dataset, _ = self._dataset(pairs, format)
        model = self.model
        was_training = model.training
        model.eval()
        out: list[tuple[float, float]] = []
        try:
            for start in range(0, len(dataset), self.config.batch_size):
                rows = [dataset[i] for i in range(start, min(start + self.config.batch_size, len(dataset)))]
                batch = {k: v.to(self.device) for k, v in self.collator(rows).items()}
                mask = batch.pop("completion_mask")[:, 1:].float()
                logits = model(**batch, use_cache=False).logits[:, :-1].float()
                token_logps = torch.log_softmax(logits, dim=-1).gather(-1, batch["input_ids"][:, 1:, None])[..., 0]
                sums = (token_logps * mask).sum(dim=1).cpu()
                half = len(rows)
                out.extend(zip(sums[:half].tolist(), sums[half:].tolist()))
        finally:
            model.train(was_training)
        return out

    # --- sampling -------------------------------------------------------------------------------

    def _prompt_inputs(self, prompt: Any, context: Sequence[Any] | None, who: str) -> tuple[dict, dict]:
        """Processor inputs for one prompt: a question string (with ``context`` media) or a trl-style row."""
        images: list[Any] = []
        videos: list[Any] = []
        if isinstance(prompt, Mapping):
            messages = prompt.get("prompt", prompt.get("question"))
            images = list(prompt.get("images") or ([prompt["image"]] if prompt.get("image") is not None else []))
            videos = list(prompt.get("videos") or ([prompt["video"]] if prompt.get("video") is not None else []))
        else:
            messages = str(prompt)
        for item in context or ():
            if isinstance(item, (str, Path)):
                from unireward_sdk.pairs.sources import guess_modality

                (videos if guess_modality(str(item)) == "video" else images).append(item)
            elif isinstance(item, (list, tuple)):
                videos.append(list(item))  # frames already decoded
            else:
                images.append(item)
        pil_images = [load_image(v, who=who) for v in images]
        frames = [v if isinstance(v, list) else self.frames(str(Path(v).resolve())) for v in videos]
        structured = with_media_placeholders(structured_messages(messages, "user", who=who), len(pil_images),
                                             len(frames), who=who)
        text = self.processor.apply_chat_template(structured, tokenize=False, add_generation_prompt=True)
        kwargs: dict[str, Any] = {"text": [text], "return_tensors": "pt"}
        if pil_images:
            kwargs["images"] = pil_images
        if frames:
            kwargs["videos"] = frames
            kwargs["do_sample_frames"] = False
        media = {"question": messages if isinstance(messages, str) else None,
                 "images": [str(v) for v in images if isinstance(v, (str, Path))],
                 "videos": [str(v) for v in videos if isinstance(v, (str, Path))]}
        return self.processor(**kwargs), media

    @torch.no_grad()
    def sample(self, prompts: Sequence[Any], n: int, *, seed: int = 0, contexts: Sequence[Sequence[Any]] | None = None,
               max_new_tokens: int | None = None, temperature: float | None = None, top_p: float | None = None,
               out_dir: str | Path | None = None) -> list[list[Candidate]]:
        """``n`` answers per prompt, sampled from the current policy.

        A prompt is a question string, with its image / video paths (or PIL images, or lists of frames) in
        ``contexts[i]``, or a trl-style mapping (``prompt`` messages or ``question``, ``images``, ``videos``).
        Each prompt's candidates come from one generate call seeded with ``provenance.seed``. ``out_dir`` is
        accepted for the shared aligner interface; text answers write no files.
        """
        if n < 1:
            raise ConfigError(f"n must be at least 1, got {n}", who=self.name, fix="Ask for n >= 1 answers per prompt")
        if contexts is not None and len(contexts) != len(prompts):
            raise ConfigError(f"{len(contexts)} contexts for {len(prompts)} prompts", who=self.name,
                              fix="Pass one contexts entry per prompt (an empty list for a prompt without media)")
        cfg = self.config
        settings = {"max_new_tokens": int(max_new_tokens or cfg.max_new_tokens),
                    "temperature": float(temperature or cfg.temperature), "top_p": float(top_p or cfg.top_p)}
        tokenizer = self.processor.tokenizer
        model = self.model
        was_training = model.training
        model.eval()
        results: list[list[Candidate]] = []
        try:
            for index, prompt in enumerate(prompts):
                who = f"{self.name}: prompt {index}"
                inputs, media = self._prompt_inputs(prompt, contexts[index] if contexts is not None else None, who)
                inputs = inputs.to(self.device)
                seed_i = prompt_seed(seed, index)
                devices = [self.device] if self.device.type == "cuda" else []
                with torch.random.fork_rng(devices=devices):
                    torch.manual_seed(seed_i)
                    output = model.generate(**inputs, do_sample=True, top_k=0, num_return_sequences=n,
                                            pad_token_id=tokenizer.pad_token_id, **settings)
                answers = tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
                results.append([
                    Candidate(
                        id=f"{self.name}:s{seed}:p{index}:c{j}", modality="text", text=answer,
                        meta={"prompt_index": index, **{k: v for k, v in media.items() if v}},
                        provenance=Provenance(plugin=self.name, checkpoint=str(cfg.model), seed=seed_i,
                                              extra={"sample_seed": seed, "candidate": j,
                                                     "trained_steps": self.trained_steps, **settings}),
                    )
                    for j, answer in enumerate(answers)
                ])
        finally:
            model.train(was_training)
        return results

    # --- saving ---------------------------------------------------------------------------------

    def save_pretrained(self, path: str | Path) -> None:
        """Write the policy: the LoRA adapter (``adapter_model.safetensors``) or the full model
        (``model.safetensors``), the processor, and ``unireward_policy.json``. Reload with
        :meth:`from_pretrained`."""
        from accelerate import PartialState

        state = PartialState()
        state.wait_for_everyone()
        if not state.is_main_process:
            return
        from peft import PeftModel

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        lora = isinstance(self.model, PeftModel)
        if lora:
            self.model.save_pretrained(str(path), selected_adapters=["default"], safe_serialization=True)
            base_ref = _portable(self.base_model)
        else:
            self.model.save_pretrained(str(path), safe_serialization=True)
            base_ref = None
        self.processor.save_pretrained(str(path))
        info = {
            "format": POLICY_FORMAT,
            "aligner": self.name,
            "lora": lora,
            "base_model": base_ref,
            "reference_model": _portable(self.reference_model) if self.reference_model else None,
            "model_class": type(self.model.get_base_model() if lora else self.model).__name__,
            "trained_steps": self.trained_steps + self._steps_this_run,
            "config": self.config.to_dict(),
        }
        (path / POLICY_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")


def _portable(ref: str) -> str:
    """A local folder as an absolute path (a saved policy may move away from the working directory)."""
    return str(Path(ref).resolve()) if Path(ref).exists() else ref


def _require_safetensors_adapter(folder: Path, who: str) -> None:
    """peft falls back to a pickled ``adapter_model.bin``; the SDK loads safetensors only."""
    if (folder / "adapter_model.safetensors").exists():
        return
    raise ModelLoadError(f"no adapter_model.safetensors in {folder}" +
                         (" (only a pickled adapter_model.bin)" if (folder / "adapter_model.bin").exists() else ""),
                         who=f"{who}: {folder}",
                         fix="Save the adapter with save_pretrained(..., safe_serialization=True)")
