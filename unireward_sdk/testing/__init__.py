"""Helpers for testing UniReward plugins: temporary plugins, fake installed distributions, contracts.

Importing this package is cheap (no torch, no pytest). The pieces:

- :mod:`.plugins`: :func:`temporary_plugin`, :func:`spec_plugin`, :func:`fake_distribution` (imported here).
- Contract base classes, one module per interface, imported explicitly because they need pytest:
  ``unireward_sdk.testing.modality``, ``.task``, ``.head``, ``.filter``, ``.aligner``.
- Tiny local models for tests that run a real backend: the recipes of :mod:`unireward_sdk.tiny`, re-exported
  here and under their former paths ``unireward_sdk.testing.tiny`` and ``.tiny_diffusion``.
"""

from __future__ import annotations

from ..tiny import (
    build_tiny_judge,
    build_tiny_t2i,
    build_tiny_t2v,
    build_tiny_text_parts,
    build_tiny_tokenizer,
    train_tiny_judge_to_emit,
)
from .plugins import FakeDistribution, fake_distribution, spec_plugin, temporary_plugin, unireward_entry_points

__all__ = [
    "FakeDistribution",
    "build_tiny_judge",
    "build_tiny_t2i",
    "build_tiny_t2v",
    "build_tiny_text_parts",
    "build_tiny_tokenizer",
    "fake_distribution",
    "spec_plugin",
    "temporary_plugin",
    "train_tiny_judge_to_emit",
    "unireward_entry_points",
]
