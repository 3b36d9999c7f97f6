"""The ``diffusion_dpo`` aligner: Diffusion-DPO for diffusers text-to-image models.

Stable Diffusion and SDXL pipelines (latent space through their VAE) and small pixel-space UNets (no
VAE) train on Pick-a-Pic / diffusers pair rows; ties are dropped and counted. This hook module stays
light (no torch at import): settings are in :mod:`.config`, the trainer (pairs to pixels, PNG samples) in
:mod:`.trainer`, which loads in the factory; the loop it shares with the video aligner is in
:mod:`..diffusion_common`.
"""

from __future__ import annotations

from typing import Any

from unireward_sdk import AlignerSpec, hookimpl

from .config import DiffusionDPOConfig

__all__ = ["DiffusionDPOConfig", "create", "unireward_register_aligners"]


def create(config: Any = None, **overrides: Any):
    from .trainer import DiffusionDPOAligner

    return DiffusionDPOAligner(config, **overrides)


def __getattr__(name: str):
    # `from unireward_builtins.aligners.diffusion_dpo import DiffusionDPOAligner` works, lazily
    if name == "DiffusionDPOAligner":
        from .trainer import DiffusionDPOAligner

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
