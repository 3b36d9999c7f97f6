"""The ``image_generation`` task: judge images generated from a caption (pairwise A vs B, or one image)."""

from __future__ import annotations

from unireward_sdk import TaskSpec, hookimpl
from unireward_sdk.templates import template_specs

from ._catalogue import THINK_POINTWISE, CatalogueTask, templates_for


class ImageGenerationTask(CatalogueTask):
    name = "image_generation"
    modalities = ("image",)
    media_source = "candidates"  # Image 1 = candidates[0].path, Image 2 = candidates[1].path
    defaults = {
        ("pairwise", "qwen_v1"): "image_generation.pairwise_rank.qwen_v1",
        ("pointwise", "qwen_v1"): "image_generation.pointwise_score.qwen_v1",
        ("pairwise", "llava_v1"): "image_generation.pairwise_rank.llava_v1",
        ("pointwise", "llava_v1"): "image_generation.pointwise_score.llava_v1",
        ("pairwise", "v2"): "image_generation.pairwise_score.v2",
        ("pointwise", "v2"): "image_generation.pointwise_multi.v2",
        ("pairwise", "think"): "image_generation.pairwise_cot.think",
    }
    notes = {("pointwise", "think"): THINK_POINTWISE}


@hookimpl
def unireward_register_tasks():
    yield TaskSpec(name=ImageGenerationTask.name, factory=ImageGenerationTask, modalities=ImageGenerationTask.modalities,
                   summary="images generated from a caption, judged against it")


@hookimpl
def unireward_register_templates():
    yield from template_specs(templates_for(ImageGenerationTask.name))
