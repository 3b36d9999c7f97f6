"""Helpers for testing UniReward plugins: temporary plugins, fake installed distributions, contracts.

Importing this package is cheap (no torch, no pytest). The pieces:

- :mod:`.plugins`: :func:`temporary_plugin`, :func:`spec_plugin`, :func:`fake_distribution` (imported here).
- Contract base classes, one module per interface, imported explicitly because they need pytest:
  ``unireward_sdk.testing.modality``, ``.task``, ``.head``, ``.filter``, ``.aligner``.
- ``unireward_sdk.testing.tiny``: tiny local judge models for tests that run a real backend.
"""

from __future__ import annotations

from .plugins import FakeDistribution, fake_distribution, spec_plugin, temporary_plugin, unireward_entry_points

__all__ = ["FakeDistribution", "fake_distribution", "spec_plugin", "temporary_plugin", "unireward_entry_points"]
