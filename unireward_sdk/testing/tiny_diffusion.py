"""Tiny diffusion policies for tests: the SDK's stable recipes in :mod:`unireward_sdk.tiny.diffusion`, under
their former import path."""

from __future__ import annotations

from ..tiny.diffusion import TEXT_LENGTH, TEXT_WIDTH, build_tiny_t2i, build_tiny_t2v, build_tiny_text_parts

__all__ = ["TEXT_LENGTH", "TEXT_WIDTH", "build_tiny_t2i", "build_tiny_t2v", "build_tiny_text_parts"]
