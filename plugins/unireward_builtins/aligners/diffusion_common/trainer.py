"""The Diffusion-DPO training loop, evaluation, DDIM sampler and checkpointing shared by the image and
video aligners. Subclasses say how pairs become pixel tensors and how samples are written to disk.

One step: the winner and loser of each pair are stacked into one batch of 2B, noised with ONE noise
tensor and ONE timestep per pair (repeated for both halves), denoised by the policy in one forward pass
and by the frozen reference in one no-grad pass; the per-sample errors go to
:func:`~unireward_builtins.aligners.diffusion_common.loss.diffusion_dpo_loss`. accelerate places
the model, wraps it for distributed data parallel, runs mixed precision and accumulates gradients.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from unireward_sdk.alignment import (
    POLICY_FILE,
    AlignerConfig,
    EvalResult,
    PairTable,
    ProgressCallback,
    StepMetrics,
    TrainSummary,
    read_pairs,
)
from unireward_sdk.checkpoints import find_checkpoint
from unireward_sdk.errors import ConfigError
from unireward_sdk.records import Candidate, Provenance

from . import components as parts
from .loss import DiffusionDPOOutput, denoising_error, diffusion_dpo_loss
from .pixels import upscale_blocks
from .resume import TRAINER_STATE, load_training_state, restore_random_state, save_training_state

_TEXT_CACHE_SIZE = 4096
# reference errors of evaluation batches (``evaluate``), a few floats each: enough for every check of an
# early-stopped run on a few hundred held-out pairs
_REFERENCE_CACHE_SIZE = 1024


def _draw_key(captions: Sequence[str], winners: torch.Tensor, losers: torch.Tensor,
              generator: torch.Generator) -> bytes:
    """What decides a seeded evaluation batch's noise, timesteps and inputs: its captions, its pixels and the
    generator's state before the batch draws from it."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update("\x1f".join(captions).encode())
    for tensor in (winners, losers):
        digest.update(str((tuple(tensor.shape), tensor.dtype)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(generator.get_state().numpy().tobytes())
    return digest.digest()


def candidate_seed(seed: int, prompt_index: int, candidate: int) -> int:
    """A per-candidate seed: distinct for every (seed, prompt position, candidate), stable across runs."""
    digest = hashlib.sha256(f"{seed}:{prompt_index}:{candidate}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


class DiffusionDPOBase:
    """Diffusion-DPO over a diffusers UNet. Subclasses set the class variables and the media hooks."""

    name: ClassVar[str] = ""
    modality: ClassVar[str] = ""
    config_class: ClassVar[type[AlignerConfig]] = AlignerConfig
    unet_classes: ClassVar[tuple[str, ...]] = ()
    pair_formats: ClassVar[tuple[str, ...]] = ()

    # --- construction ---------------------------------------------------------------------------

    def __init__(self, config: Any = None, *, registry: Any = None, **overrides: Any):
        self.config = self.config_class.coerce(config, **overrides)
        if not self.config.model:
            raise ConfigError("no model given", who=self.name,
                              fix="Set model to a diffusers pipeline folder or hub id")
        self._registry = registry
        model = str(self.config.model)
        info = parts.read_policy_info(model)
        adapter_dir = None
        saved_lora = None
        base = model
        if info is not None and info.get("lora"):
            adapter_dir, base, saved_lora = Path(model), info["base_model"], info.get("lora_config")
            if not self.config.lora:
                raise ConfigError("this policy is a LoRA adapter and cannot continue as full fine-tuning",
                                  who=f"{self.name}: {model}", fix="Keep lora = true for this policy")
        components = parts.load_components(base, unet_classes=self.unet_classes, who=self.name,
                                           trust_remote_code=self.config.trust_remote_code)
        self._setup(components, adapter_dir=adapter_dir, saved_lora=saved_lora)
        if info is not None:
            self.trained_steps = int(info.get("trained_steps", 0))

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides: Any):
        """Reload a policy written by :meth:`save_pretrained` (or load any diffusers model)."""
        info = parts.read_policy_info(path)
        saved = dict(info.get("config", {})) if info else {}
        known = cls.config_class.field_names()
        values = {k: v for k, v in saved.items() if k in known}
        values.update(overrides)
        values["model"] = str(path)
        return cls(cls.config_class.from_mapping(values, who=f"{cls.name}: {path}"))

    @classmethod
    def from_components(cls, *, unet: Any, text_encoder: Any, tokenizer: Any, noise_scheduler: Any,
                        vae: Any = None, config: Any = None, **overrides: Any):
        """Build around models already in memory (benchmarks, notebooks). LoRA policies built this way
        can train and sample but only a full fine-tune can be saved, since no base folder exists."""
        self = cls.__new__(cls)
        self.config = cls.config_class.coerce(config, **overrides)
        self._registry = None
        components = parts.DiffusionComponents(
            unet=unet, text_encoders=[text_encoder], tokenizers=[tokenizer], noise_scheduler=noise_scheduler,
            vae=vae, base_model=str(self.config.model or ""), scheduler_config=dict(noise_scheduler.config),
        )
        self._setup(components)
        return self

    def _setup(self, components: parts.DiffusionComponents, *, adapter_dir: Path | None = None,
               saved_lora: dict | None = None) -> None:
        from accelerate import Accelerator
        from accelerate.utils import set_seed

        cfg = self.config
        try:
            self.accelerator = Accelerator(mixed_precision=cfg.mixed_precision,
                                           gradient_accumulation_steps=cfg.gradient_accumulation_steps)
        except ValueError as exc:  # accelerate's process-wide state is fixed by the first Accelerator
            raise ConfigError(f"accelerate refused the settings ({exc})", who=self.name,
                              fix="Use the same mixed_precision for every aligner in one process") from exc
        set_seed(cfg.seed)
        device = self.accelerator.device
        self.weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(cfg.mixed_precision, torch.float32)
        self.components = components
        for encoder in components.text_encoders:
            encoder.requires_grad_(False).eval().to(device)
        if components.vae is not None:
            components.vae.requires_grad_(False).eval().to(device)
        unet = components.unet
        self._ref_unet = None
        self._lora_settings = None
        if cfg.lora:
            self._lora_settings = saved_lora or {
                "rank": cfg.lora_r, "alpha": cfg.effective_lora_alpha, "dropout": cfg.lora_dropout,
                "targets": list(cfg.lora_target_modules or parts.DEFAULT_LORA_TARGETS),
            }
            self._lora_config = parts.lora_config(**self._lora_settings)
            if self.weight_dtype != torch.float32:
                unet.to(dtype=self.weight_dtype)  # frozen base in half precision; LoRA weights stay float32
            if adapter_dir is not None:
                parts.load_lora(unet, adapter_dir, self._lora_config)
            else:
                parts.add_lora(unet, self._lora_config)
            for param in unet.parameters():
                if param.requires_grad:
                    param.data = param.data.float()
        else:
            unet.requires_grad_(True)
            self._ref_unet = copy.deepcopy(unet).requires_grad_(False).eval().to(device)
            if self.weight_dtype != torch.float32:
                self._ref_unet.to(dtype=self.weight_dtype)
        if cfg.gradient_checkpointing:
            if not getattr(unet, "_supports_gradient_checkpointing", False):
                raise ConfigError(f"{type(unet).__name__} does not support gradient checkpointing", who=self.name,
                                  fix="Set gradient_checkpointing = false, or use a UNet class that supports it")
            unet.enable_gradient_checkpointing()
        self.unet = unet.to(device).train()
        self._train_unet = None
        self._optimizer = None
        self._lr_scheduler = None
        self._text_cache: OrderedDict[str, tuple[torch.Tensor, dict | None]] = OrderedDict()
        self._reference_cache: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self.trained_steps = 0
        size = getattr(cfg, "resolution", None) or unet.config.sample_size * components.vae_scale_factor
        self.pixel_size = (int(size), int(size)) if isinstance(size, int) else tuple(int(s) for s in size)

    # --- subclass hooks -------------------------------------------------------------------------

    def _dataset(self, table: PairTable) -> tuple[torch.utils.data.Dataset, dict[str, int]]:
        """(winner/loser pixel dataset, counts of dropped rows by reason)."""
        raise NotImplementedError

    def _sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample in the UNet's space (no batch dimension)."""
        raise NotImplementedError

    def _write(self, pixels: torch.Tensor, path: Path) -> Path:
        """Write one decoded sample (values in [-1, 1]) and return the file written."""
        raise NotImplementedError

    file_suffix: ClassVar[str] = ""

    def _to_model_space(self, pixels: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.components.vae is None:
            return pixels
        return self._vae_encode(pixels, generator)

    def _from_model_space(self, x: torch.Tensor) -> torch.Tensor:
        if self.components.vae is None:
            return x
        return self._vae_decode(x)

    def _vae_encode(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        vae = self.components.vae
        dist = vae.encode(images.to(vae.dtype)).latent_dist
        latents = dist.sample(generator=generator) if generator is not None else dist.sample()
        shift = getattr(vae.config, "shift_factor", None) or 0.0
        return (latents.float() - shift) * vae.config.scaling_factor

    def _vae_decode(self, latents: torch.Tensor) -> torch.Tensor:
        vae = self.components.vae
        shift = getattr(vae.config, "shift_factor", None) or 0.0
        return vae.decode((latents / vae.config.scaling_factor + shift).to(vae.dtype)).sample.float()

    # --- conditioning ---------------------------------------------------------------------------

    def _condition(self, captions: Sequence[str]) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """Text conditioning per caption; the text encoders are frozen, so results are cached."""
        missing = [c for c in dict.fromkeys(captions) if c not in self._text_cache]
        if missing:
            with self.accelerator.autocast():
                hidden, added = parts.encode_text(self.components, missing, self.accelerator.device,
                                                  self.pixel_size)
            for i, caption in enumerate(missing):
                self._text_cache[caption] = (hidden[i:i + 1], {k: v[i:i + 1] for k, v in added.items()}
                                             if added else None)
                if len(self._text_cache) > _TEXT_CACHE_SIZE:
                    self._text_cache.popitem(last=False)
        entries = [self._text_cache[c] for c in captions]
        hidden = torch.cat([e[0] for e in entries])
        added = None
        if entries[0][1] is not None:
            added = {k: torch.cat([e[1][k] for e in entries]) for k in entries[0][1]}
        return hidden, added

    def _target(self, x: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        kind = self.components.noise_scheduler.config.prediction_type
        if kind == "epsilon":
            return noise
        if kind == "v_prediction":
            return self.components.noise_scheduler.get_velocity(x, noise, t)
        if kind == "sample":
            return x
        raise ConfigError(f"unsupported prediction_type {kind!r}", who=self.name,
                          fix="Use a policy whose noise scheduler's prediction_type is epsilon, v_prediction or sample")

    # --- the Diffusion-DPO step -----------------------------------------------------------------

    def _dpo_outputs(self, unet: Any, batch: Sequence[Any], *, generator: torch.Generator | None = None,
                     reduction: str = "mean", objective: str = "dpo", sft_weight: float = 0.0) -> DiffusionDPOOutput:
        """Loss, margin and accuracy for one batch of (captions, winners, losers); grads flow to ``unet``.
        ``objective="sft"`` makes the loss the chosen side's denoising error; ``sft_weight`` adds that error,
        so weighted, to the DPO loss (``evaluate`` always measures the plain DPO loss, so runs of any
        objective compare)."""
        captions, winners, losers = batch
        device = self.accelerator.device
        half = winners.shape[0]
        # seeded draws (evaluation) make the reference's errors a function of the batch and the generator's
        # state: the frozen reference is run once per held-out batch, however many checks measure it
        reference_key = _draw_key(captions, winners, losers, generator) if generator is not None else None
        with torch.no_grad():
            x = self._to_model_space(torch.cat([winners, losers]).to(device), generator)
            hidden, added = self._condition(list(captions))
        scheduler = self.components.noise_scheduler
        steps = scheduler.config.num_train_timesteps
        if generator is None:
            noise = torch.randn(x[:half].shape, device=device, dtype=x.dtype)
            t = torch.randint(0, steps, (half,), device=device)
        else:
            noise = torch.randn(x[:half].shape, generator=generator, dtype=x.dtype).to(device)
            t = torch.randint(0, steps, (half,), generator=generator).to(device)
        # the heart of Diffusion-DPO: winner and loser see the same noise at the same timestep
        noise, t = torch.cat([noise, noise]), torch.cat([t, t])
        noisy = scheduler.add_noise(x, noise, t)
        target = self._target(x, noise, t)
        kwargs: dict[str, Any] = {"encoder_hidden_states": torch.cat([hidden, hidden])}
        if added is not None:
            kwargs["added_cond_kwargs"] = {k: torch.cat([v, v]) for k, v in added.items()}
        with self.accelerator.autocast():
            prediction = unet(noisy, t, **kwargs).sample
        model_err = denoising_error(prediction, target)
        ref_err = self._reference_cache.get(reference_key) if reference_key is not None else None
        if ref_err is None:
            ref_err = self._reference_error(noisy, t, kwargs, target)
            if reference_key is not None:
                self._reference_cache[reference_key] = ref_err
                if len(self._reference_cache) > _REFERENCE_CACHE_SIZE:
                    self._reference_cache.popitem(last=False)
        out = diffusion_dpo_loss(model_err[:half], model_err[half:], ref_err[:half], ref_err[half:],
                                 self.config.beta, reduction=reduction)
        chosen_err = model_err[:half] if reduction == "none" else model_err[:half].mean()
        if objective == "sft":
            # the supervised baseline: denoise the chosen sample; margin and accuracy stay the DPO ones
            out = out._replace(loss=chosen_err)
        elif sft_weight:
            # DPO plus an SFT term on the chosen sample (see DiffusionDPOConfig.sft_weight)
            out = out._replace(loss=out.loss + sft_weight * chosen_err)
        return out

    @torch.no_grad()
    def _reference_error(self, noisy: torch.Tensor, t: torch.Tensor, kwargs: dict[str, Any],
                         target: torch.Tensor) -> torch.Tensor:
        """The frozen reference's per-sample denoising error (a separate UNet, or the policy without its
        LoRA adapters)."""
        with self.accelerator.autocast():
            if self._ref_unet is not None:
                ref_kwargs = {**kwargs, "encoder_hidden_states": kwargs["encoder_hidden_states"].to(self.weight_dtype)}
                ref_prediction = self._ref_unet(noisy.to(self.weight_dtype), t, **ref_kwargs).sample
            else:
                with parts.adapters_disabled(self.unet):
                    ref_prediction = self.unet(noisy, t, **kwargs).sample
            return denoising_error(ref_prediction, target)

    def _prepare_training(self) -> None:
        if self._optimizer is not None:
            return
        cfg = self.config
        params = [p for p in self.unet.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        warmup = max(0, cfg.warmup_steps)
        # stepped by hand once per optimizer step, so warm-up counts optimizer steps on any number of GPUs
        self._lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0)
        self._train_unet, self._optimizer = self.accelerator.prepare(self.unet, optimizer)

    def _loader(self, dataset: torch.utils.data.Dataset, *, shuffle: bool, seed: int):
        generator = torch.Generator().manual_seed(seed) if shuffle else None
        if shuffle:
            self._loader_generator = generator  # its state at each epoch's start goes into checkpoints
        return torch.utils.data.DataLoader(
            dataset, batch_size=self.config.batch_size, shuffle=shuffle, generator=generator,
            num_workers=getattr(self.config, "dataloader_workers", 0),
        )

    def training_step(self, batch: Sequence[Any]) -> DiffusionDPOOutput:
        """One micro-batch: forward, backward, and (at an accumulation boundary) an optimizer step."""
        self._prepare_training()
        acc = self.accelerator
        with acc.accumulate(self._train_unet):
            out = self._dpo_outputs(self._train_unet, batch, objective=getattr(self.config, "objective", "dpo"),
                                    sft_weight=getattr(self.config, "sft_weight", 0.0))
            acc.backward(out.loss)
            if acc.sync_gradients and self.config.max_grad_norm:
                acc.clip_grad_norm_(self._train_unet.parameters(), self.config.max_grad_norm)
            self._optimizer.step()
            self._optimizer.zero_grad(set_to_none=True)
        return out

    def train(self, pairs: Any, *, format: str = "auto", callback: ProgressCallback | None = None) -> TrainSummary:
        """Train on pairs (anything :func:`read_pairs` accepts); returns per-step metrics and a summary."""
        cfg = self.config
        table = read_pairs(pairs, format).require(*self.pair_formats, who=self.name)
        dataset, dropped = self._dataset(table)
        if len(dataset) == 0:
            detail = ", ".join(f"{n} {why}" for why, n in dropped.items()) or "none given"
            raise ConfigError(f"no pairs left to train on (dropped: {detail})", who=f"{self.name}: {table.source}",
                              fix="Ties carry no preference; export decided pairs")
        self._prepare_training()
        acc = self.accelerator
        resume = self._resume_point()
        loader_seed = resume[0]["loader_seed"] if resume else cfg.seed + self.trained_steps
        loader = acc.prepare(self._loader(dataset, shuffle=True, seed=loader_seed))
        per_epoch = max(1, math.ceil(len(loader) / cfg.gradient_accumulation_steps))
        total = cfg.max_steps or per_epoch * cfg.num_train_epochs
        history: list[StepMetrics] = []
        micro: list[DiffusionDPOOutput] = []
        epoch, skip = 0, 0
        if resume:
            history, epoch, skip = self._restore(*resume)
        self.unet.train()
        while len(history) < total:
            epoch_start = self._loader_generator.get_state()
            if resume:  # the epoch the checkpoint was in: the same order, less the batches already seen
                self._loader_generator.set_state(resume[1]["loader_generator"])
                epoch_start = resume[1]["loader_generator"]
                restore_random_state(*resume)
                resume = None
            seen = skip
            for batch in (acc.skip_first_batches(loader, skip) if skip else loader):
                seen += 1
                micro.append(self.training_step(batch))
                if not acc.sync_gradients:
                    continue
                self._lr_scheduler.step()
                self.trained_steps += 1
                values = torch.stack([torch.stack([o.loss.detach().float(), o.implicit_reward_margin.float(),
                                                   o.accuracy.float()]) for o in micro]).mean(0)
                values = acc.reduce(values, reduction="mean").tolist()
                micro = []
                metrics = StepMetrics(step=len(history) + 1, loss=values[0], margin=values[1], accuracy=values[2],
                                      learning_rate=self._lr_scheduler.get_last_lr()[0],
                                      epoch=epoch + len(history) % per_epoch / per_epoch)
                history.append(metrics)
                if callback is not None and acc.is_main_process:
                    callback(metrics, total)
                if cfg.save_every and len(history) % cfg.save_every == 0:
                    self._save_checkpoint(history, {"loader_seed": loader_seed, "epoch": epoch,
                                                    "batches_in_epoch": seen}, epoch_start)
                if len(history) >= total:
                    break
            epoch, skip = epoch + 1, 0
        acc.wait_for_everyone()
        return TrainSummary.from_history(self.name, history, pairs=len(dataset), dropped=dropped)

    # --- resumable checkpoints ------------------------------------------------------------------

    def _save_checkpoint(self, history: list[StepMetrics], position: dict, epoch_start: torch.Tensor) -> None:
        """``output_dir/checkpoint-<step>``: the policy plus the state :meth:`_restore` continues from."""
        path = Path(self.config.output_dir) / f"checkpoint-{self.trained_steps}"
        self.save_pretrained(path)
        if self.accelerator.is_main_process:
            save_training_state(path, optimizer=self._optimizer, scheduler=self._lr_scheduler, history=history,
                                position={**position, "trained_steps": self.trained_steps},
                                loader_generator=epoch_start)

    def _resume_point(self) -> tuple[dict, dict] | None:
        """The training state of ``config.resume_from_checkpoint`` (consumed: a later train() starts fresh)."""
        value = self.config.resume_from_checkpoint
        if not value:
            return None
        path = find_checkpoint(value, self.config.output_dir, marker=TRAINER_STATE, who=self.name)
        state, tensors = load_training_state(path)
        state["path"] = path
        self.config = dataclasses.replace(self.config, resume_from_checkpoint=None)
        return state, tensors

    def _restore(self, state: dict, tensors: dict) -> tuple[list[StepMetrics], int, int]:
        """Weights, optimizer and scheduler of a checkpoint; returns (history, epoch, batches seen in it)."""
        path = state["path"]
        if self._lora_settings is not None:
            parts.load_lora(self.unet, path, self._lora_config, add=False)
        else:
            trained = type(self.unet).from_pretrained(str(path / "unet"))
            self.unet.load_state_dict(trained.state_dict())
        self._optimizer.load_state_dict(tensors["optimizer"])
        self._lr_scheduler.load_state_dict(tensors["scheduler"])
        self.trained_steps = int(state["trained_steps"])
        return list(state["history"]), int(state["epoch"]), int(state["batches_in_epoch"])

    @torch.no_grad()
    def evaluate(self, pairs: Any, *, seed: int = 0, format: str = "auto", repeats: int = 2) -> EvalResult:
        """Mean DPO loss, margin and accuracy over the pairs with noise and timesteps drawn from ``seed``:
        the same call before and after training compares the policies on identical draws."""
        table = read_pairs(pairs, format).require(*self.pair_formats, who=self.name)
        dataset, _ = self._dataset(table)
        generator = torch.Generator().manual_seed(seed)
        outputs = []
        was_training = self.unet.training
        self.unet.eval()
        try:
            for _ in range(repeats):
                for batch in self._loader(dataset, shuffle=False, seed=seed):
                    outputs.append(self._dpo_outputs(self.unet, batch, generator=generator, reduction="none"))
        finally:
            self.unet.train(was_training)
        loss = torch.cat([o.loss for o in outputs])
        return EvalResult(loss=loss.mean().item(),
                          margin=torch.cat([o.implicit_reward_margin for o in outputs]).mean().item(),
                          accuracy=torch.cat([o.accuracy for o in outputs]).mean().item(), pairs=len(dataset))

    # --- sampling -------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, prompts: Sequence[str], n: int, *, seed: int = 0, out_dir: str | Path | None = None,
               num_inference_steps: int | None = None, guidance_scale: float | None = None) -> list[list[Candidate]]:
        """``n`` candidates per prompt from the current policy (DDIM), written under ``out_dir``
        (default ``<output_dir>/samples``). Each candidate's provenance holds the seed of its noise."""
        from diffusers import DDIMScheduler

        cfg = self.config
        steps = int(num_inference_steps or cfg.sample_steps)
        guidance = float(cfg.guidance_scale if guidance_scale is None else guidance_scale)
        folder = Path(out_dir or getattr(cfg, "sample_dir", None) or Path(cfg.output_dir) / "samples")
        folder.mkdir(parents=True, exist_ok=True)
        device = self.accelerator.device
        scheduler = DDIMScheduler.from_config(self.components.scheduler_config, steps_offset=1, clip_sample=False)
        shape = self._sample_shape()
        was_training = self.unet.training
        self.unet.eval()
        results: list[list[Candidate]] = []
        try:
            for pi, prompt in enumerate(prompts):
                seeds = [candidate_seed(seed, pi, j) for j in range(n)]
                x = torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in seeds])
                x = x.to(device) * scheduler.init_noise_sigma
                hidden, added = self._condition([prompt] * n)
                use_cfg = guidance > 1.0
                if use_cfg:
                    u_hidden, u_added = self._condition([""] * n)
                    hidden = torch.cat([u_hidden, hidden])
                    if added is not None:
                        added = {k: torch.cat([u_added[k], v]) for k, v in added.items()}
                kwargs: dict[str, Any] = {"encoder_hidden_states": hidden}
                if added is not None:
                    kwargs["added_cond_kwargs"] = added
                scheduler.set_timesteps(steps, device=device)
                for t in scheduler.timesteps:
                    model_in = scheduler.scale_model_input(torch.cat([x, x]) if use_cfg else x, t)
                    with self.accelerator.autocast():
                        pred = self.unet(model_in, t, **kwargs).sample.float()
                    if use_cfg:
                        uncond, cond = pred.chunk(2)
                        pred = uncond + guidance * (cond - uncond)
                    x = scheduler.step(pred, t, x).prev_sample
                pixels = upscale_blocks(self._from_model_space(x).clamp(-1, 1).cpu(), cfg.sample_upscale)
                row = []
                for j in range(n):
                    path = self._write(pixels[j], folder / f"p{pi:04d}_s{seed}_c{j}{self.file_suffix}")
                    row.append(Candidate(
                        id=f"{self.name}:s{seed}:p{pi}:c{j}", modality=self.modality, path=str(path),
                        meta={"prompt": prompt, "prompt_index": pi},
                        provenance=Provenance(plugin=self.name, checkpoint=str(cfg.model) or None, seed=seeds[j],
                                              extra={"sample_seed": seed, "candidate": j, "steps": steps,
                                                     "guidance_scale": guidance,
                                                     "trained_steps": self.trained_steps}),
                    ))
                results.append(row)
        finally:
            self.unet.train(was_training)
        return results

    # --- saving ---------------------------------------------------------------------------------

    def save_pretrained(self, path: str | Path) -> None:
        """Write the policy: a LoRA adapter (diffusers LoRA file) or a complete pipeline folder, plus
        ``unireward_policy.json``. Reload with ``from_pretrained(path)``; weights are safetensors."""
        acc = self.accelerator
        acc.wait_for_everyone()
        if not acc.is_main_process:
            return
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        base = self.components.base_model
        if self._lora_settings is not None:
            if not base:
                raise ConfigError("a LoRA policy built from in-memory models has no base folder to refer to",
                                  who=self.name, fix="Build it from a saved model (config.model) or use lora = false")
            parts.save_lora(self.unet, path, self._lora_config)
            base_ref = str(Path(base).resolve()) if Path(base).exists() else base
        else:
            parts.save_full(self.components, self.unet, path)
            base_ref = None
        info = {
            "format": parts.POLICY_FORMAT,
            "aligner": self.name,
            "lora": self._lora_settings is not None,
            "base_model": base_ref,
            "lora_config": self._lora_settings,
            "unet_class": type(self.unet).__name__,
            "latent": self.components.latent,
            "trained_steps": self.trained_steps,
            "config": self.config.to_dict(),
        }
        (path / POLICY_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
