"""Settings of the ``diffusion_dpo`` aligner (no torch at import); the video aligner's settings extend them."""

from __future__ import annotations

from dataclasses import dataclass

from unireward_sdk.alignment import AlignerConfig


@dataclass
class DiffusionDPOConfig(AlignerConfig):
    """Diffusion-DPO settings. ``beta`` is the paper's β (the diffusers example's ``beta_dpo`` is β/2).

    ``resolution``: training and sampling size in pixels (None: the UNet's sample size times the VAE's
    down-scaling). ``sample_steps`` / ``guidance_scale``: the DDIM sampler used by ``sample``.
    """

    beta: float = 5000.0
    learning_rate: float = 1e-5
    resolution: int | None = None
    sample_steps: int = 20
    guidance_scale: float = 5.0
    sample_dir: str | None = None
    dataloader_workers: int = 0
