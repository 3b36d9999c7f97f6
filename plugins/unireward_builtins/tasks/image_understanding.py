"""The ``image_understanding`` task: judge answers to a question about an image (pairwise, or one answer)."""

from __future__ import annotations

from unireward_sdk import TaskSpec, hookimpl
from unireward_sdk.templates import template_specs

from ._catalogue import THINK_POINTWISE, V2_UNDERSTANDING, CatalogueTask, templates_for


class ImageUnderstandingTask(CatalogueTask):
    name = "image_understanding"
    modalities = ("image", "text")
    media_source = "context"  # the image asked about is item.context[0]; answers are the candidates' texts
    defaults = {
        ("pairwise", "qwen_v1"): "image_understanding.pairwise_rank.qwen_v1",
        ("pointwise", "qwen_v1"): "image_understanding.pointwise_score.qwen_v1",
        ("pairwise", "llava_v1"): "image_understanding.pairwise_rank.llava_v1",
        ("pointwise", "llava_v1"): "image_understanding.pointwise_score.llava_v1",
        ("pairwise", "v2"): "image_understanding.pairwise_rank.qwen_v1",
        ("pointwise", "v2"): "image_understanding.pointwise_score.qwen_v1",
        ("pairwise", "think"): "image_understanding.pairwise_cot.think",
    }
    notes = {
        ("pointwise", "think"): THINK_POINTWISE,
        ("pairwise", "v2"): V2_UNDERSTANDING,
        ("pointwise", "v2"): V2_UNDERSTANDING,
    }


@hookimpl
def unireward_register_tasks():
    yield TaskSpec(name=ImageUnderstandingTask.name, factory=ImageUnderstandingTask,
                   modalities=ImageUnderstandingTask.modalities, summary="answers to a question about an image")


@hookimpl
def unireward_register_templates():
    yield from template_specs(templates_for(ImageUnderstandingTask.name))
