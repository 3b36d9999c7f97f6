"""Shared pieces for aligners: the config base, reading pair exports, and training summaries.

An aligner plugin (the built-in ones are packages under ``plugins/``: a light hook module in its ``__init__``,
the settings in ``config``, the aligner in ``trainer``) is built from these:

- a config dataclass extending :class:`AlignerConfig` with its own fields (``beta`` and friends);
- ``train(pairs, *, format="auto", callback=None) -> TrainSummary``, where ``pairs`` is anything
  :func:`read_pairs` accepts and ``callback`` a :class:`ProgressCallback`;
- ``evaluate(pairs, *, seed=0) -> EvalResult`` (fixed randomness, no update), which the contract tests
  in :mod:`unireward_sdk.testing.aligner` use to show that training moved the policy the right way;
- ``sample(prompts, n, *, seed=0) -> list[list[Candidate]]`` and ``save_pretrained(path)``, plus a
  ``from_pretrained(path, **overrides)`` class method that reloads a saved policy.

Nothing here imports torch.
"""

from __future__ import annotations

from .config import MIXED_PRECISION, AlignerConfig
from .pairs import (
    FORMATS,
    PairTable,
    decode_image,
    detect_format,
    image_bytes,
    load_image,
    pickapic_outcome,
    read_pairs,
)
from .policy import POLICY_FILE, load_policy, policy_aligner, policy_info
from .summary import EvalResult, ProgressCallback, StepMetrics, TrainSummary

__all__ = [
    "FORMATS", "MIXED_PRECISION", "POLICY_FILE", "AlignerConfig", "EvalResult", "PairTable", "ProgressCallback",
    "StepMetrics", "TrainSummary", "decode_image", "detect_format", "image_bytes", "load_image", "pickapic_outcome",
    "load_policy", "policy_aligner", "policy_info", "read_pairs",
]
