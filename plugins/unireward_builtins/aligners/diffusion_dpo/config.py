"""The ``diffusion_dpo`` aligner: Diffusion-DPO for diffusers text-to-image models.

Stable Diffusion and SDXL pipelines (latent space through their VAE) and small pixel-space UNets (no
VAE) train on Pick-a-Pic / diffusers pair rows; ties are dropped and counted. This module stays light
(no torch at import): the implementation lives in ``_diffusion_image`` and loads in the factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unireward_sdk import AlignerSpec, hookimpl
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


def create(config: Any = None, **overrides: Any):
    from ._diffusion_image import DiffusionDPOAligner

    return DiffusionDPOAligner(config, **overrides)


def __getattr__(name: str):
    # `from unireward_builtins.aligners.diffusion_dpo import DiffusionDPOAligner` works, lazily
    if name == "DiffusionDPOAligner":
        from ._diffusion_image import DiffusionDPOAligner

        return DiffusionDPOAligner
    raise AttributeError(name)


@hookimpl
def unireward_register_aligners():
    yield AlignerSpec(
        name="diffusion_dpo",
        factory=create,
        summary="Diffusion-DPO for diffusers text-to-image UNets (SD, SDXL, pixel space), LoRA or full",
        tasks=("image_generation",),
        modalities=("image",),
        requires=("train",),
    )
