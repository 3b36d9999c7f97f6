"""The ``video_understanding`` task: judge answers to a question about a video (pairwise, or one answer)."""

from __future__ import annotations

from unireward_sdk import TaskSpec, hookimpl
from unireward_sdk.templates import template_specs

from ._catalogue import THINK_POINTWISE, V2_UNDERSTANDING, CatalogueTask, templates_for

LLAVA_PAIRWISE = ("no LLaVA 1.0 video-understanding pairwise prompt parses at the catalogued commit; the LLaVA "
                  "data-construction prompt (8 fixed frame placeholders) is used")


class VideoUnderstandingTask(CatalogueTask):
    name = "video_understanding"
    modalities = ("video", "text")
    media_source = "context"  # the video asked about is item.context[0]; answers are the candidates' texts
    defaults = {
        ("pairwise", "qwen_v1"): "video_understanding.pairwise_rank.qwen_v1",
        ("pointwise", "qwen_v1"): "video_understanding.pointwise_score.qwen_v1",
        ("pairwise", "llava_v1"): "video_understanding.pairwise_rank.data_construction",
        ("pointwise", "llava_v1"): "video_understanding.pointwise_score.llava_v1",
        ("pairwise", "v2"): "video_understanding.pairwise_rank.qwen_v1",
        ("pointwise", "v2"): "video_understanding.pointwise_score.qwen_v1",
        ("pairwise", "think"): "video_understanding.pairwise_cot.think",
    }
    notes = {
        ("pointwise", "think"): THINK_POINTWISE,
        ("pairwise", "llava_v1"): LLAVA_PAIRWISE,
        ("pairwise", "v2"): V2_UNDERSTANDING,
        ("pointwise", "v2"): V2_UNDERSTANDING,
    }


@hookimpl
def unireward_register_tasks():
    yield TaskSpec(name=VideoUnderstandingTask.name, factory=VideoUnderstandingTask,
                   modalities=VideoUnderstandingTask.modalities, summary="answers to a question about a video")


@hookimpl
def unireward_register_templates():
    yield from template_specs(templates_for(VideoUnderstandingTask.name))
