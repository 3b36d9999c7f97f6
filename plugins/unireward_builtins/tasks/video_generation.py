"""The ``video_generation`` task: judge videos generated from a caption (pairwise A vs B, or one video)."""

from __future__ import annotations

from unireward_sdk import TaskSpec, hookimpl
from unireward_sdk.templates import template_specs

from ._catalogue import THINK_POINTWISE, CatalogueTask, templates_for


class VideoGenerationTask(CatalogueTask):
    name = "video_generation"
    modalities = ("video",)
    media_source = "candidates"  # Video 1 = candidates[0].path, Video 2 = candidates[1].path
    defaults = {
        ("pairwise", "qwen_v1"): "video_generation.pairwise_rank.qwen_v1",
        ("pointwise", "qwen_v1"): "video_generation.pointwise_multi.qwen_v1",
        ("pairwise", "llava_v1"): "video_generation.pairwise_rank.llava_v1",
        ("pointwise", "llava_v1"): "video_generation.pointwise_multi.llava_v1",
        ("pairwise", "v2"): "video_generation.pairwise_score.v2",
        ("pointwise", "v2"): "video_generation.pointwise_multi.v2",
        ("pairwise", "think"): "video_generation.pairwise_cot.think",
    }
    notes = {("pointwise", "think"): THINK_POINTWISE}


@hookimpl
def unireward_register_tasks():
    yield TaskSpec(name=VideoGenerationTask.name, factory=VideoGenerationTask, modalities=VideoGenerationTask.modalities,
                   summary="videos generated from a caption, judged against it")


@hookimpl
def unireward_register_templates():
    yield from template_specs(templates_for(VideoGenerationTask.name))
