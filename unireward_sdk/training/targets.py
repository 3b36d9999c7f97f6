"""The assistant answer a judge is trained to write, in each template's own phrasing, checked by its parser.

One function per output format, each producing what the released checkpoints answer:

==========================  ===================================================================
format                      target
==========================  ===================================================================
``verdict_phrases``         the template's conclusion sentence: ``Image 1 is better.`` (qwen_v1),
                            ``Image 1 is better than Image 2.`` (llava_v1), ``Both images are equally
                            good.`` (ties, where the template has a tie phrase)
``overall_judgment``        ``Overall Judgment: Answer 1 is better than Answer 2.``
``think_answer``            ``<think>\\n{reasoning}\\n</think>\\n<answer>Image 1 is better</answer>``
                            (needs the record's ``reasoning``)
``pairwise_axis_scores``    per axis ``Alignment Score:\\n Image 1: 0.7\\n Image 2: 0.3`` (needs
                            ``dimensions`` {axis: share of candidate 1 or [s1, s2]})
``final_score``             ``Final Score: 4``
``axis_scores``             ``Alignment Score (1-5): 4`` lines (needs ``dimensions`` for every axis)
``videoscore``              the given dimension lines (``visual quality: 3``...), then ``Final Score: 7``
==========================  ===================================================================

**Reasoning before the answer.** The checkpoints write free text before their conclusion (the templates
ask for an element checklist before ``Final Score:``, a comparison before the verdict sentence). A record
may supply it: per-candidate ``note``s (pairwise; written as ``Image 1: <note>`` / ``Image 2: <note>``
lines in the order shown, so they follow the candidates when A and B are exchanged) and a record-level
``reasoning`` text. They come before the answer, or inside ``<think>`` for the think format.

A pointwise score is mapped linearly from the record's ``scale`` onto the template's ``score_range``
when the two differ. Every target is parsed back with the task's parser before it is used
(:func:`render_checked`): a judge is never trained on an answer its own parser would misread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, TemplateError
from ..parsing import parse
from ..records import Score, Verdict
from ..templates import Template, axis_key, phrase_label

# what each output format needs from a record besides its label or score
NEEDS: dict[str, str] = {
    "verdict_phrases": "label",
    "overall_judgment": "label",
    "think_answer": "label and 'reasoning' (the <think> text)",
    "pairwise_axis_scores": "label and 'dimensions' {axis: share of candidate 1}",
    "final_score": "score",
    "axis_scores": "'dimensions' {axis: value} for every axis",
    "videoscore": "score (optional 'dimensions' for the 1-4 dimension lines)",
}
_TOLERANCE = 1e-4


def number_text(value: float) -> str:
    """A score as the checkpoints write it: ``4``, ``3.5``, ``73.25`` (at most 4 decimals)."""
    rounded = round(float(value), 4)
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:g}"


def phrase_for(template: Template, label: str) -> str:
    """The template's verdict phrase for ``label`` (A, B or tie)."""
    for phrase in template.verdict_phrases:
        if phrase_label(phrase) == label:
            return phrase
    if label == "tie":
        raise TemplateError(f"the label is a tie but template '{template.id}' has no tie phrase",
                            who=f"template '{template.id}'",
                            fix="Drop tie records for this task (drop_ties = true) or use a template with ties")
    raise TemplateError(f"no verdict phrase for label {label!r}", who=f"template '{template.id}'",
                        fix="Add a phrase for this side to the template's verdict_phrases ('Image 1 is better', "
                            "'Image 2 is better'), or pick another template")


def to_template_scale(score: float, scale: tuple[float, float] | None, template: Template) -> float:
    """``score`` (on the record's ``scale``) on the template's score range, linearly."""
    if template.score_range is None:
        raise TemplateError("the template has no score range", who=f"template '{template.id}'",
                            fix="Set the template's score_range (e.g. [1, 5]), or pick a template that has one")
    lo, hi = template.score_range
    if scale is not None and tuple(scale) != (lo, hi):
        s_lo, s_hi = scale
        score = lo + (score - s_lo) * (hi - lo) / (s_hi - s_lo)
    if not lo - _TOLERANCE <= score <= hi + _TOLERANCE:
        raise ConfigError(f"score {score:g} lies outside the template's scale {lo:g}-{hi:g}",
                          who=f"template '{template.id}'", fix="Give the record's 'scale' so it can be mapped")
    return min(hi, max(lo, score))


def _dims(dimensions: Mapping[str, Any] | None) -> dict[str, Any]:
    return {axis_key(str(k)): v for k, v in (dimensions or {}).items()}


def _shares(template: Template, dimensions: Mapping[str, Any] | None) -> dict[str, tuple[float, float]]:
    dims = _dims(dimensions)
    missing = [k for k in template.axis_keys if k not in dims]
    if missing:
        raise ConfigError(f"template '{template.id}' writes per-axis shares but the record has no "
                          f"'dimensions' for {', '.join(missing)}", who=f"template '{template.id}'",
                          fix="Give dimensions {axis: share of candidate 1 in [0, 1]} or pick a verdict template")
    out = {}
    for key in template.axis_keys:
        value = dims[key]
        first, second = (value if isinstance(value, (list, tuple)) else (value, 1.0 - float(value)))
        out[key] = (float(first), float(second))
    return out


def render_target(
    template: Template,
    *,
    label: str | None = None,
    score: float | None = None,
    scale: tuple[float, float] | None = None,
    dimensions: Mapping[str, Any] | None = None,
    reasoning: str | None = None,
    notes: tuple[str | None, ...] | None = None,
) -> str:
    """The answer text for one label (pairwise) or score (pointwise) in ``template``'s format, after the
    record's reasoning when it has some (see the module docstring).

    Raises :class:`ConfigError` / :class:`TemplateError` when the record lacks what the format needs
    (see :data:`NEEDS`); nothing is made up.
    """
    lead = _reasoning_text(template, reasoning, notes)
    if template.output_format == "think_answer":
        return _answer(template, label=label, score=score, scale=scale, dimensions=dimensions, reasoning=lead)
    answer = _answer(template, label=label, score=score, scale=scale, dimensions=dimensions)
    return f"{lead}\n{answer}" if lead else answer


def _reasoning_text(template: Template, reasoning: str | None, notes: tuple[str | None, ...] | None) -> str:
    lines = [f"{template.subject} {i}: {note.strip()}" for i, note in enumerate(notes or (), start=1) if note]
    if reasoning and reasoning.strip():
        lines.append(reasoning.strip())
    return "\n".join(lines)


def _answer(template: Template, *, label: str | None, score: float | None, scale: tuple[float, float] | None,
            dimensions: Mapping[str, Any] | None, reasoning: str | None = None) -> str:
    fmt = template.output_format
    if template.judging_mode == "pairwise":
        if label not in ("A", "B", "tie"):
            raise ConfigError(f"a pairwise target needs a label A, B or tie, got {label!r}",
                              who=f"template '{template.id}'", fix='Give the record a label "A", "B" or "tie"')
        if fmt == "verdict_phrases":
            return phrase_for(template, label) + "."
        if fmt == "overall_judgment":
            return f"Overall Judgment: {phrase_for(template, label)}."
        if fmt == "think_answer":
            phrase = phrase_for(template, label)
            if not reasoning:
                raise ConfigError(f"template '{template.id}' is trained with reasoning before the answer",
                                  who=f"template '{template.id}'",
                                  fix="Give each record a 'reasoning' text (or candidate notes), or train with the "
                                      "plain pairwise template")
            return f"<think>\n{reasoning}\n</think>\n<answer>{phrase}</answer>"
        if fmt == "pairwise_axis_scores":
            shares = _shares(template, dimensions)
            first = sum(a for a, _ in shares.values())
            second = sum(b for _, b in shares.values())
            implied = "tie" if abs(first - second) < 1e-9 else ("A" if first > second else "B")
            if implied != label:
                raise ConfigError(f"the per-axis shares favour {implied} but the label is {label}",
                                  who=f"template '{template.id}'", fix="Correct the record's dimensions or label")
            subject = template.subject
            return "\n\n".join(
                f"{axis} Score:\n {subject} 1: {number_text(shares[axis_key(axis)][0])}\n"
                f" {subject} 2: {number_text(shares[axis_key(axis)][1])}"
                for axis in template.axes
            )
        raise TemplateError(f"no training target for output format '{fmt}'", who=f"template '{template.id}'",
                            fix="Set the record's 'template' (or [training.templates]) to a pairwise template whose "
                                "output_format is verdict_phrases, overall_judgment, think_answer or "
                                "pairwise_axis_scores")
    # pointwise
    if fmt == "axis_scores":
        dims = _dims(dimensions)
        missing = [k for k in template.axis_keys if k not in dims]
        if missing:
            raise ConfigError(f"template '{template.id}' writes one score per axis but the record has no "
                              f"'dimensions' for {', '.join(missing)}", who=f"template '{template.id}'",
                              fix="Give dimensions {axis: value}, or set 'template' to a 'Final Score' template")
        lo, hi = template.score_range  # type: ignore[misc]
        return "\n".join(f"{axis} Score ({lo:g}-{hi:g}): {number_text(float(dims[axis_key(axis)]))}"
                         for axis in template.axes)
    if score is None:
        raise ConfigError("a pointwise target needs a score", who=f"template '{template.id}'",
                          fix="Give the record a 'score' (and its 'scale'), or pick an axis_scores template")
    value = number_text(to_template_scale(float(score), scale, template))
    if fmt == "final_score":
        return f"Final Score: {value}"
    if fmt == "videoscore":
        dims = _dims(dimensions)
        lines = [f"{axis}: {number_text(float(dims[axis_key(axis)]))}" for axis in template.axes
                 if axis_key(axis) in dims]
        return "\n".join([*lines, f"Final Score: {value}"])
    raise TemplateError(f"no training target for output format '{fmt}'", who=f"template '{template.id}'",
                        fix="Set the record's 'template' (or [training.templates]) to a pointwise template whose "
                            "output_format is final_score, axis_scores or videoscore")


def expected_reading(template: Template, *, label: str | None = None, score: float | None = None,
                     scale: tuple[float, float] | None = None, dimensions: Mapping[str, Any] | None = None) -> Any:
    """What the parser must read from the target: the label, or the score on the template's scale."""
    if template.judging_mode == "pairwise":
        return label
    if template.output_format == "axis_scores":
        dims = _dims(dimensions)
        values = [round(float(dims[k]), 4) for k in template.axis_keys]
        return sum(values) / len(values)
    return round(to_template_scale(float(score), scale, template), 4)  # type: ignore[arg-type]


def reads_back(template: Template, target: str, expected: Any) -> tuple[bool, Verdict | Score]:
    """Parse ``target`` with the template's parser; True when it gives ``expected``."""
    result = parse(template, target, "target")
    if not result.ok:
        return False, result
    if isinstance(result, Verdict):
        return result.winner == expected, result
    return abs(float(result.value) - float(expected)) <= _TOLERANCE, result


def render_checked(template: Template, **values: Any) -> str:
    """:func:`render_target`, then parse it back; raises TemplateError if the parser disagrees."""
    reasoning = values.pop("reasoning", None)
    notes = values.pop("notes", None)
    target = render_target(template, reasoning=reasoning, notes=notes, **values)
    expected = expected_reading(template, **values)
    ok, result = reads_back(template, target, expected)
    if not ok:
        got = getattr(result, "winner", None) if isinstance(result, Verdict) else getattr(result, "value", None)
        raise TemplateError(f"the target {target!r} parses to {got!r} ({result.status}: {result.error}), "
                            f"not {expected!r}", who=f"template '{template.id}'",
                            fix="Report this: the template's parser and its target phrasing disagree")
    return target
