"""Tiny judge models for tests: the SDK's stable recipes in :mod:`unireward_sdk.tiny.vlm`, under their
former import path."""

from __future__ import annotations

from ..tiny.vlm import (
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
    "build_tiny_judge",
    "build_tiny_tokenizer",
    "train_tiny_judge_to_emit",
]
