"""The ``vlm_dpo`` aligner: DPO for vision-language policies through trl's ``DPOTrainer``, on image and
video preference pairs.

Rows are trl's vision DPO rows (``prompt`` / ``chosen`` / ``rejected`` chat messages with ``images``),
plus ``videos`` (video file paths) for video prompts, which trl itself does not train on: our collator
sends each video's evenly spaced frames through the processor's video path. This hook module stays light
(no torch at import): settings are in :mod:`.config`, reading rows in :mod:`.data`, batching in
:mod:`.collator` and the aligner in :mod:`.trainer`, which loads in the factory.
"""

from __future__ import annotations

from typing import Any

from unireward_sdk import AlignerSpec, hookimpl

from .config import LOSS_TYPES, VLMDPOConfig

__all__ = ["LOSS_TYPES", "VLMDPOConfig", "create", "unireward_register_aligners"]


def create(config: Any = None, **overrides: Any):
    from .trainer import VLMDPOAligner

    return VLMDPOAligner(config, **overrides)


def __getattr__(name: str):
    # `from unireward_builtins.aligners.vlm_dpo import VLMDPOAligner` works, lazily
    if name == "VLMDPOAligner":
        from .trainer import VLMDPOAligner

        return VLMDPOAligner
    raise AttributeError(name)


@hookimpl
def unireward_register_aligners():
    yield AlignerSpec(
        name="vlm_dpo",
        factory=create,
        summary="DPO (trl) for vision-language policies on image and video pairs, LoRA or full",
        tasks=("image_understanding", "video_understanding"),
        modalities=("image", "video", "text"),
        requires=("train",),
    )
