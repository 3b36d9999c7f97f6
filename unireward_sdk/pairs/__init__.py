"""Preference-pair construction: the paper's pair ranking then point sifting, as a resumable, sharded job.

- :mod:`.algorithm`: the method as pure functions (schedules, tie/failure policies, lists, sifting);
- :mod:`.sources`: prompts and candidates from a JSONL manifest / ``datasets.Dataset`` or a policy sampler;
- :mod:`.store`: append-only sharded pair datasets with atomic commits (:class:`PairDataset` reads them);
- :mod:`.preflight`: what a job checks before it loads a model or writes (every problem at once);
- :mod:`.runner`: :class:`PairJob` (accelerate-sharded, resumable);
- :mod:`.export`: trl vision DPO, Pick-a-Pic / Diffusion-DPO and VideoDPO rows as ``datasets.Dataset``;
- :mod:`.sheet`: a contact sheet (HTML or PNG) of chosen vs rejected.

Torch-free: heavy libraries load only when a judge is built or an export is written.
"""

from __future__ import annotations

from .algorithm import DropReason, decide, schedule, select_lists, sift
from .config import PairJobConfig
from .runner import PairJob
from .sources import ManifestSource, PromptRecord, SamplerSource
from .store import PairDataset, PairStore

__all__ = [
    "DropReason", "ManifestSource", "PairDataset", "PairJob", "PairJobConfig", "PairStore", "PromptRecord",
    "SamplerSource", "decide", "schedule", "select_lists", "sift",
]
