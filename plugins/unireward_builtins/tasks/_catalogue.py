"""The UnifiedReward prompt catalogue shipped with the built-in tasks, and what the four tasks share.

``unifiedreward_templates.json`` is a byte-for-byte copy of the project's catalogue (31 templates taken from
github.com/CodeGoat24/UnifiedReward, MIT, Copyright (c) 2025 Yibin Wang). It is loaded as package data.
What the catalogue does not say is stated here: each template's token budget, which readouts are exact, and
which checkpoint family uses which template by default.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from unireward_sdk.tasks import TemplateTask
from unireward_sdk.templates import Template, catalogue_attribution, template_from_catalogue

CATALOGUE_FILE = "unifiedreward_templates.json"

# Checkpoint families (the JSON's "data_construction" prompts were sent to LLaVA checkpoints).
FAMILIES: tuple[str, ...] = ("qwen_v1", "llava_v1", "v2", "think")
COMPATIBLE: dict[str, tuple[str, ...]] = {
    "qwen_v1": ("qwen_v1",),
    "llava_v1": ("llava_v1", "data_construction"),
    "v2": ("v2",),
    "think": ("think", "qwen_v1"),  # Think checkpoints also answer the plain 1.0 pairwise prompt
}

# Token budgets: short verdicts small, scores with a checklist or explanation medium, reasoning large.
MAX_NEW_TOKENS: dict[str, int] = {
    # a conclusion sentence, perhaps after a short comparison
    "image_generation.pairwise_rank.llava_v1": 64,
    "image_generation.pairwise_rank.qwen_v1": 64,
    "video_generation.pairwise_rank.llava_v1": 128,
    "video_generation.pairwise_rank.qwen_v1": 128,
    "video_generation.pairwise_rank.data_construction": 128,
    # per-axis numbers only
    "image_generation.pairwise_score.v2": 96,
    "video_generation.pairwise_score.v2": 96,
    "image_generation.pointwise_multi.v2": 64,
    "video_generation.pointwise_multi.v2": 64,
    "video_generation.pointwise_multi.llava_v1": 96,
    "video_generation.pointwise_multi.qwen_v1": 96,
    "image_generation.pointwise_score.llava_v1.sglang": 64,
    "video_generation.pointwise_score.data_construction": 128,
    # an element checklist, word-wise scores or a few lines of explanation, then the score
    "image_generation.pointwise_score.llava_v1": 512,
    "image_generation.pointwise_score.qwen_v1": 512,
    "image_generation.pointwise_score.data_construction": 512,
    "image_generation.pointwise_multi.llava_v1": 512,
    "image_generation.pointwise_multi.qwen_v1": 512,
    "image_understanding.pointwise_score.llava_v1": 512,
    "image_understanding.pointwise_score.qwen_v1": 512,
    "video_understanding.pointwise_score.llava_v1": 512,
    "video_understanding.pointwise_score.qwen_v1": 512,
    # a detailed reason or per-criterion reasoning before the verdict
    "image_understanding.pairwise_rank.llava_v1": 1024,
    "image_understanding.pairwise_rank.qwen_v1": 1024,
    "image_understanding.pairwise_rank.data_construction": 1024,
    "video_understanding.pairwise_rank.qwen_v1": 1024,
    "video_understanding.pairwise_rank.data_construction": 1024,
    # chain of thought
    "image_generation.pairwise_cot.think": 2048,
    "video_generation.pairwise_cot.think": 2048,
    "image_understanding.pairwise_cot.think": 2048,
    "video_understanding.pairwise_cot.think": 2048,
}

# The checkpoint's whole answer is the conclusion sentence, so the fast head's readout is exact.
EXACT_READOUTS = frozenset({"image_generation.pairwise_rank.qwen_v1"})
# UnifiedReward 2.0 writes float scores (e.g. 2.6947)
FRACTIONAL_FAMILIES = frozenset({"v2"})

THINK_POINTWISE = "UnifiedReward-Think judges pairs only; use a qwen_v1 or v2 checkpoint for pointwise scores"
V2_UNDERSTANDING = ("the catalogue has no UnifiedReward 2.0 understanding prompt; the 1.0 Qwen prompt is used "
                    "(unverified for 2.0 checkpoints)")


def catalogue_text() -> str:
    """The catalogue file exactly as shipped."""
    return resources.files(__package__).joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")


@functools.cache
def catalogue_data() -> dict[str, Any]:
    return json.loads(catalogue_text())


@functools.cache
def builtin_templates() -> dict[str, Template]:
    """Every catalogue template by id, in catalogue order."""
    data = catalogue_data()
    attribution = {**catalogue_attribution(data), "catalogue": CATALOGUE_FILE}
    out = {}
    for entry in data["templates"]:
        out[entry["id"]] = template_from_catalogue(
            entry,
            max_new_tokens=MAX_NEW_TOKENS[entry["id"]],
            exact_readout=entry["id"] in EXACT_READOUTS,
            fractional_scores=entry["family"] in FRACTIONAL_FAMILIES,
            source=attribution,
        )
    return out


def templates_for(task: str) -> tuple[Template, ...]:
    return tuple(t for t in builtin_templates().values() if t.task == task)


class CatalogueTask(TemplateTask):
    """A built-in task whose templates come from the UnifiedReward catalogue."""

    families = FAMILIES
    compatible = COMPATIBLE

    def builtin_templates(self) -> tuple[Template, ...]:
        return templates_for(self.name)
