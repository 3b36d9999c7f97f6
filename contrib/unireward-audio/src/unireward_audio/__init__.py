"""unireward-audio: an example third-party UniReward plugin adding the ``audio`` modality."""

from __future__ import annotations

__version__ = "0.1.0"

from .modality import AudioModality  # noqa: E402

__all__ = ["AudioModality", "__version__"]
