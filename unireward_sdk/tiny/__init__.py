"""Tiny models in real architectures: stable recipes for tests, benchmarks and CPU applications.

Each recipe writes a checkpoint folder (safetensors, config, tokenizer, processor or scheduler) that loads
offline through the same ``from_pretrained`` path as a released model, in about a second:

- :mod:`.vlm`: vision-language judges (Qwen2-VL, Qwen2.5-VL, LLaVA-OneVision) with a tiny byte-level BPE
  tokenizer: :func:`build_tiny_judge`, :func:`build_tiny_tokenizer`, :func:`train_tiny_judge_to_emit`, and
  the Qwen special tokens and chat templates they use.
- :mod:`.diffusion`: diffusers text-to-image and text-to-video policies (pixel space or with a tiny VAE):
  :func:`build_tiny_t2i`, :func:`build_tiny_t2v`, :func:`build_tiny_text_parts`.

The synthetic testbed (``contrib/unireward-testbed``) builds its models from these recipes. Importing this
package is cheap: torch, transformers and diffusers are imported inside the functions.
``unireward_sdk.testing.tiny`` and ``unireward_sdk.testing.tiny_diffusion`` re-export the same names.
"""

from __future__ import annotations

from .diffusion import TEXT_LENGTH, TEXT_WIDTH, build_tiny_t2i, build_tiny_t2v, build_tiny_text_parts
from .vlm import (
    ARCHITECTURES,
    LLAVA_ONEVISION_CHAT_TEMPLATE,
    LLAVA_SPECIAL_TOKENS,
    QWEN2_VL_CHAT_TEMPLATE,
    QWEN_SPECIAL_TOKENS,
    build_tiny_judge,
    build_tiny_tokenizer,
    train_tiny_judge_to_emit,
)

__all__ = [
    "ARCHITECTURES",
    "LLAVA_ONEVISION_CHAT_TEMPLATE",
    "LLAVA_SPECIAL_TOKENS",
    "QWEN2_VL_CHAT_TEMPLATE",
    "QWEN_SPECIAL_TOKENS",
    "TEXT_LENGTH",
    "TEXT_WIDTH",
    "build_tiny_judge",
    "build_tiny_t2i",
    "build_tiny_t2v",
    "build_tiny_text_parts",
    "build_tiny_tokenizer",
    "train_tiny_judge_to_emit",
]
