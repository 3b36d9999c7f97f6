"""The ``video_diffusion_dpo`` aligner: Diffusion-DPO on diffusers text-to-video UNets (VideoDPO).

UNet3DConditionModel-style and motion-module (UNetMotionModel) UNets, in latent space through a VAE
applied frame by frame or directly on pixels, train on VideoDPO rows (``caption``, ``chosen``,
``rejected`` video paths). One noise sample and one timestep are shared by the two videos of a pair.
This hook module stays light (no torch at import): settings are in :mod:`.config`, the trainer (clips to
tensors, MP4 samples) in :mod:`.trainer`, which loads in the factory.
"""

from __future__ import annotations

from typing import Any

from unireward_sdk import AlignerSpec, hookimpl

from .config import VideoDiffusionDPOConfig

__all__ = ["VideoDiffusionDPOConfig", "create", "unireward_register_aligners"]


def create(config: Any = None, **overrides: Any):
    from .trainer import VideoDiffusionDPOAligner

    return VideoDiffusionDPOAligner(config, **overrides)


def __getattr__(name: str):
    if name == "VideoDiffusionDPOAligner":
        from .trainer import VideoDiffusionDPOAligner

        return VideoDiffusionDPOAligner
    raise AttributeError(name)


@hookimpl
def unireward_register_aligners():
    yield AlignerSpec(
        name="video_diffusion_dpo",
        factory=create,
        summary="Diffusion-DPO (VideoDPO) for diffusers text-to-video UNets, one noise per pair",
        tasks=("video_generation",),
        modalities=("video",),
        requires=("train",),
    )
