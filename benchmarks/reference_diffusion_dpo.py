"""A plain Diffusion-DPO training step, written the straightforward way the diffusers example reads:
the baseline our aligner's step is timed against (benchmarks/test_bench_aligners.py and
benchmarks/gpu/diffusion_dpo_sd_unet.py).

Each step tokenizes and encodes the captions, draws one noise tensor and timestep per pair, runs the
policy UNet separately on the noised winners and on the noised losers, runs a separately held frozen
reference UNet on both under ``no_grad``, forms the loss, back-propagates, clips and steps AdamW. No
accelerate, no batching of winners with losers, no caching.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class PlainDiffusionDPO:
    """The baseline trainer; ``unet`` is trained (all of it, or whatever requires grad), ``ref_unet`` frozen."""

    def __init__(self, unet, ref_unet, text_encoder, tokenizer, noise_scheduler, *, beta: float = 5000.0,
                 learning_rate: float = 1e-5, max_grad_norm: float = 1.0, autocast_dtype: torch.dtype | None = None,
                 max_length: int | None = None):
        self.unet, self.ref_unet = unet, ref_unet
        self.text_encoder, self.tokenizer = text_encoder, tokenizer
        self.noise_scheduler = noise_scheduler
        self.beta, self.max_grad_norm = beta, max_grad_norm
        self.autocast_dtype = autocast_dtype
        self.max_length = max_length or min(tokenizer.model_max_length,
                                            text_encoder.config.max_position_embeddings)
        self.params = [p for p in unet.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=learning_rate)

    def _autocast(self, device: torch.device):
        if self.autocast_dtype is None:
            return torch.autocast(device.type, enabled=False)
        return torch.autocast(device.type, dtype=self.autocast_dtype)

    def step(self, captions, winners: torch.Tensor, losers: torch.Tensor) -> float:
        device = winners.device
        ids = self.tokenizer(list(captions), padding="max_length", max_length=self.max_length, truncation=True,
                             return_tensors="pt").input_ids.to(device)
        with torch.no_grad():
            encoder_hidden_states = self.text_encoder(ids)[0]
        noise = torch.randn_like(winners)
        timesteps = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (winners.shape[0],),
                                  device=device)
        noisy_w = self.noise_scheduler.add_noise(winners, noise, timesteps)
        noisy_l = self.noise_scheduler.add_noise(losers, noise, timesteps)

        with self._autocast(device):
            pred_w = self.unet(noisy_w, timesteps, encoder_hidden_states).sample
            pred_l = self.unet(noisy_l, timesteps, encoder_hidden_states).sample
        model_w = F.mse_loss(pred_w.float(), noise.float(), reduction="none").mean(dim=list(range(1, noise.ndim)))
        model_l = F.mse_loss(pred_l.float(), noise.float(), reduction="none").mean(dim=list(range(1, noise.ndim)))

        with torch.no_grad(), self._autocast(device):
            ref_w = self.ref_unet(noisy_w, timesteps, encoder_hidden_states).sample
            ref_l = self.ref_unet(noisy_l, timesteps, encoder_hidden_states).sample
            ref_err_w = F.mse_loss(ref_w.float(), noise.float(), reduction="none").mean(dim=list(range(1, noise.ndim)))
            ref_err_l = F.mse_loss(ref_l.float(), noise.float(), reduction="none").mean(dim=list(range(1, noise.ndim)))

        inside = -0.5 * self.beta * ((model_w - model_l) - (ref_err_w - ref_err_l))
        loss = -F.logsigmoid(inside).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.item()


# --- side-by-side harness ------------------------------------------------------------------------------


def paired_steps(unet, text_encoder, tokenizer, noise_scheduler, captions, winners, losers, *, lora: bool,
                 mixed_precision: str = "no", beta: float = 5000.0, learning_rate: float = 1e-5,
                 lora_rank: int = 8):
    """Two zero-argument step functions on copies of the same UNet and the same batch: our aligner's
    ``training_step`` and the plain baseline's ``step``. Returns ``(ours, plain, aligner)``."""
    import copy

    from unireward_builtins.aligners.diffusion_common.components import DEFAULT_LORA_TARGETS, add_lora, lora_config
    from unireward_builtins.aligners.diffusion_dpo import DiffusionDPOAligner, DiffusionDPOConfig

    config = DiffusionDPOConfig(lora=lora, lora_r=lora_rank, mixed_precision=mixed_precision, beta=beta,
                                learning_rate=learning_rate, max_grad_norm=1.0)
    aligner = DiffusionDPOAligner.from_components(unet=copy.deepcopy(unet), text_encoder=text_encoder,
                                                  tokenizer=tokenizer, noise_scheduler=noise_scheduler, config=config)
    device = aligner.accelerator.device
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mixed_precision)
    policy = copy.deepcopy(unet).to(device)
    if lora:
        if dtype is not None:
            policy.to(dtype=dtype)
        add_lora(policy, lora_config(lora_rank, float(lora_rank), 0.0, DEFAULT_LORA_TARGETS))
        for p in policy.parameters():
            if p.requires_grad:
                p.data = p.data.float()
    reference = copy.deepcopy(unet).requires_grad_(False).eval().to(device)
    if dtype is not None:
        reference.to(dtype=dtype)
    plain = PlainDiffusionDPO(policy.train(), reference, text_encoder.to(device), tokenizer, noise_scheduler,
                              beta=beta, learning_rate=learning_rate, autocast_dtype=dtype)
    winners, losers = winners.to(device), losers.to(device)
    batch = (list(captions), winners, losers)

    def ours() -> float:
        return aligner.training_step(batch).loss.item()

    def baseline() -> float:
        return plain.step(captions, winners, losers)

    return ours, baseline, aligner


def interleaved_medians(steps: dict, *, rounds: int, warmup: int = 2, synchronize=None) -> dict[str, float]:
    """Median seconds per call of each function, alternating them round by round so that a noisy
    machine slows all of them alike."""
    import statistics
    import time

    sync = synchronize or (lambda: None)
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}
