"""Training targets: every catalogue template's target reads back through its own parser, in its phrasing."""

from __future__ import annotations

import pytest

from unireward_sdk.errors import ConfigError, TemplateError
from unireward_sdk.parsing import parse
from unireward_sdk.training.targets import render_checked, render_target

from unireward_builtins.tasks._catalogue import builtin_templates

TEMPLATES = builtin_templates()


def _inputs(template):
    """Every (label or score, extra fields) a template can be trained on."""
    if template.judging_mode == "pairwise":
        labels = ["A", "B"] + (["tie"] if template.allows_tie else [])
        for label in labels:
            share = {"A": 0.8, "B": 0.25, "tie": 0.5}[label]
            yield {"label": label, "dimensions": {a: share for a in template.axes},
                   "reasoning": "1. Accuracy: 9/10 vs 7/10"}, label
        return
    lo, hi = template.score_range
    for value in (lo, hi, lo + (hi - lo) / 4):
        if template.output_format == "axis_scores":
            dims = {a: v for a, v in zip(template.axes, (value, lo, hi))}
            yield {"dimensions": dims}, sum(dims.values()) / len(dims)
        else:
            dims = {a: 2 for a in template.axes}  # videoscore dimension lines (1-4)
            yield {"score": value, "dimensions": dims}, value


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_target_round_trips_through_the_templates_parser(template_id):
    template = TEMPLATES[template_id]
    for values, expected in _inputs(template):
        target = render_target(template, **values)
        result = parse(template, target, "x")
        assert result.ok, (target, result.error)
        if template.judging_mode == "pairwise":
            assert result.winner == expected, target
        else:
            assert result.value == pytest.approx(expected, abs=1e-4), target


@pytest.mark.parametrize("template_id, label, expected", [
    ("image_generation.pairwise_rank.qwen_v1", "A", "Image 1 is better."),
    ("image_generation.pairwise_rank.qwen_v1", "tie", "Both images are equally good."),
    ("image_generation.pairwise_rank.llava_v1", "B", "Image 2 is better than Image 1."),
    ("video_generation.pairwise_rank.qwen_v1", "B", "Video 2 is better."),
    ("image_understanding.pairwise_rank.qwen_v1", "A", "Answer 1 is better."),
    ("video_understanding.pairwise_rank.qwen_v1", "B", "Overall Judgment: Answer 2 is better than Answer 1."),
])
def test_verdict_targets_use_each_familys_phrasing(template_id, label, expected):
    assert render_checked(TEMPLATES[template_id], label=label) == expected


def test_fast_readout_choices_are_prefixes_of_the_targets():
    """What the fast head reads after training is the start of what the judge was taught to write."""
    for template in TEMPLATES.values():
        if template.readout is None or template.judging_mode != "pairwise":
            continue
        for label, choice in template.readout.choices.items():
            target = render_target(template, label=label)
            assert target.startswith(template.readout.prefix + choice), (template.id, target, choice)


def test_score_targets_and_scale_mapping():
    t = TEMPLATES["image_generation.pointwise_score.qwen_v1"]  # 1-5
    assert render_checked(t, score=4) == "Final Score: 4"
    assert render_checked(t, score=7.5, scale=(0, 10)) == "Final Score: 4"  # mapped linearly onto 1-5
    assert render_checked(TEMPLATES["image_understanding.pointwise_score.qwen_v1"], score=73.25) == "Final Score: 73.25"
    video = TEMPLATES["video_generation.pointwise_multi.qwen_v1"]
    assert render_checked(video, score=7) == "Final Score: 7"
    with pytest.raises(ConfigError, match="outside"):
        render_target(t, score=9)  # no scale given and outside the template's 1-5


def test_missing_inputs_are_refused_not_invented():
    with pytest.raises(ConfigError, match="dimensions"):
        render_target(TEMPLATES["image_generation.pointwise_multi.v2"], score=3)
    with pytest.raises(ConfigError, match="reasoning"):
        render_target(TEMPLATES["image_generation.pairwise_cot.think"], label="A")
    with pytest.raises(TemplateError, match="tie"):
        render_target(TEMPLATES["image_understanding.pairwise_rank.qwen_v1"], label="tie")
    with pytest.raises(ConfigError, match="favour"):
        render_target(TEMPLATES["image_generation.pairwise_score.v2"], label="A",
                      dimensions={"alignment": 0.2, "coherence": 0.3, "style": 0.4})


def test_reasoning_and_candidate_notes_come_before_the_answer():
    pair = TEMPLATES["image_generation.pairwise_rank.qwen_v1"]
    assert render_checked(pair, label="B", notes=("a blue circle", "a red circle"), reasoning="The caption says red.") \
        == "Image 1: a blue circle\nImage 2: a red circle\nThe caption says red.\nImage 2 is better."
    point = TEMPLATES["image_generation.pointwise_score.qwen_v1"]
    assert render_checked(point, score=4, reasoning="red (color): 1\ncircle (shape): 0") == \
        "red (color): 1\ncircle (shape): 0\nFinal Score: 4"
    think = TEMPLATES["image_generation.pairwise_cot.think"]  # notes alone are enough reasoning for <think>
    assert render_checked(think, label="A", notes=("sharp", "blurry")) == \
        "<think>\nImage 1: sharp\nImage 2: blurry\n</think>\n<answer>Image 1 is better</answer>"
    assert render_checked(pair, label="A", notes=(None, None)) == "Image 1 is better."
