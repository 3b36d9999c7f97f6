"""Judge prompt templates as data: byte-exact rendering, LLaVA media prefixes, token budgets, fast readouts.

A :class:`Template` is one prompt string with named slots (``{prompt}``, ``{question}``, ``{response_1}``,
``{response_2}``, ``{response}``), how its media reach the model, which parser reads its output, the
scale of its scores, its ``max_new_tokens`` and, for the fast single-pass head, a :class:`Readout`.

Rendering is a single pass over the text: every declared ``{slot}`` is replaced by its value verbatim, so a
value that itself contains ``{response_2}`` stays as written, and nothing else in the text changes. The
released checkpoints were trained on these exact strings, stray spaces and all.

Templates come from the UnifiedReward catalogue (:func:`template_from_catalogue`), from a user's TOML or
JSON file (:func:`read_template_file`, :func:`templates_plugin`) or from a plugin yielding
:class:`~unireward_sdk.specs.TemplateSpec` records (:func:`template_specs`). Replacing a template that
already exists needs ``override = true``; nothing is replaced silently.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from attrs import field, frozen

from .errors import TemplateError, did_you_mean
from .hookspecs import hookimpl
from .interfaces import TEMPLATE_MODES, judging_mode
from .records import WINNERS
from .specs import TemplateSpec

# how media reach the model: chat content parts before the text (Qwen), or placeholders in the text (LLaVA)
DELIVERIES: tuple[str, ...] = ("content_parts_before_text", "llava_placeholders")
# media_kind: one part per image; one video part per video; or a video's frames sent as separate images
MEDIA_KINDS: tuple[str, ...] = ("image", "video", "video_frames", "video_frames_as_images")
# parser names (unireward_sdk.parsing.PARSERS has one function for each)
OUTPUT_FORMATS: tuple[str, ...] = (
    "verdict_phrases",  # "Image 1 is better." / "Image 1 is better than Image 2." / "Both ... equally good"
    "overall_judgment",  # "Overall Judgment: Answer 1 is better than Answer 2."
    "think_answer",  # <think>...</think><answer>Image 1 is better</answer>
    "pairwise_axis_scores",  # UnifiedReward 2.0: per axis " Image 1: 0.6" / " Image 2: 0.4"
    "final_score",  # "... Final Score: 3.5"
    "axis_scores",  # "Alignment Score (1-5): 4" lines
    "videoscore",  # "visual quality: 3" ... five 1-4 lines, then "Final Score: 7"
)
PAIRWISE_FORMATS = ("verdict_phrases", "overall_judgment", "think_answer", "pairwise_axis_scores")
SCORE_FORMATS = ("final_score", "axis_scores", "videoscore")

# default token budgets per output format, for templates that do not state their own
DEFAULT_MAX_NEW_TOKENS: dict[str, int] = {
    "verdict_phrases": 128,
    "overall_judgment": 1024,
    "think_answer": 2048,
    "pairwise_axis_scores": 96,
    "final_score": 512,
    "axis_scores": 128,
    "videoscore": 96,
}

IMAGE_PLACEHOLDER = "<image>"
_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ID = re.compile(
    r"^(?P<task>[a-z][a-z0-9_]*)\.(?P<mode>[a-z_]+)\.(?P<family>[a-z][a-z0-9_]*)(?:\.(?P<variant>[a-z][a-z0-9_]*))?$"
)


def axis_key(name: str) -> str:
    """The dictionary key of a score axis: ``"text-to-video alignment"`` -> ``"text_to_video_alignment"``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _tuple_of_str(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _range(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    lo, hi = value
    return (float(lo), float(hi))


@frozen
class Readout:
    """How the fast head reads a verdict or score in one forward pass.

    The assistant answer is teacher-forced with ``prefix``; then log P(choice text) is read for each
    label. Pairwise labels are ``"A"``, ``"B"`` and (when the format has ties) ``"tie"``; pointwise labels
    are score values as strings, and the head's expected value is sum(p * float(label)). ``exact`` is
    True only when the checkpoint's whole answer is exactly prefix + choice; otherwise ``note`` says
    what the approximation skips.
    """

    prefix: str
    choices: Mapping[str, str] = field(converter=dict)
    exact: bool = False
    note: str = ""

    @choices.validator
    def _distinct(self, _attribute, value: Mapping[str, str]) -> None:
        if not value:
            raise ValueError("a readout needs at least one choice")
        texts = list(value.values())
        for a in texts:
            for b in texts:
                if a is not b and b.startswith(a):
                    # log P(a) would include the mass of every longer choice b that starts with it
                    raise ValueError(f"readout choice {a!r} is a prefix of {b!r}; choices must not overlap")


@frozen
class MediaPrefix:
    """The LLaVA image-placeholder prefix in front of the rendered text.

    ``repeat="fixed"``: exactly ``literal`` (which may hold oddities such as ``"<image>\\n <image>\\n"``),
    written for ``count`` images or frames. ``repeat="per_frame"``: one ``placeholder`` per image or frame
    actually given; ``reference_count`` is what the reference script used.
    """

    repeat: str = field(validator=attrs.validators.in_(("fixed", "per_frame")))
    placeholder: str = "<image>\n"
    literal: str | None = None
    count: int | None = None
    reference_count: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.repeat == "fixed" and (self.literal is None or self.count is None):
            raise ValueError("a fixed media prefix needs its literal text and the number of placeholders in it")

    def render(self, units: int | None = None, *, template_id: str = "") -> str:
        """The prefix for ``units`` images or frames (None: the literal, unchecked; per-frame needs it)."""
        if self.repeat == "fixed":
            if units is not None and units != self.count:
                raise TemplateError(
                    f"its fixed image prefix holds {self.count} placeholders but {units} images or frames were given",
                    who=f"template '{template_id}'",
                    fix=f"Sample {self.count} frames in total (e.g. VideoSampling(frames=8)) or use a per-frame template",
                )
            return self.literal  # type: ignore[return-value]
        if units is None:
            raise TemplateError("a per-frame image prefix needs the number of frames actually sampled",
                                who=f"template '{template_id}'", fix="Pass media_units=len(frames)")
        return self.placeholder * units

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@frozen(kw_only=True)
class Template:
    """One judge prompt and everything needed to send it and read the answer. Build from data."""

    id: str
    task: str
    mode: str
    family: str
    text: str
    slots: tuple[str, ...] = field(converter=_tuple_of_str)
    media_kind: str = field(default="image", validator=attrs.validators.in_(MEDIA_KINDS))
    media_count: int = 1
    delivery: str = field(default="content_parts_before_text", validator=attrs.validators.in_(DELIVERIES))
    media_prefix: MediaPrefix | None = None
    frames_per_video: int | None = None
    output_format: str = field(validator=attrs.validators.in_(OUTPUT_FORMATS))
    verdict_phrases: tuple[str, ...] = field(default=(), converter=_tuple_of_str)
    score_range: tuple[float, float] | None = field(default=None, converter=_range)
    axes: tuple[str, ...] = field(default=(), converter=_tuple_of_str)
    dimension_range: tuple[float, float] | None = field(default=None, converter=_range)
    max_new_tokens: int = 256
    readout: Readout | None = None
    readout_unavailable: str = ""  # why there is no readout, when there is none
    variant: str | None = None
    notes: tuple[str, ...] = field(default=(), converter=_tuple_of_str)
    source: Mapping[str, Any] = field(factory=dict, converter=dict, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise TemplateError("; ".join(problems), who=f"template '{self.id}'",
                                fix="Correct the template definition")

    def problems(self) -> list[str]:
        """Everything inconsistent in this definition (empty when it is usable)."""
        out = []
        m = _ID.match(self.id)
        if not m:
            out.append("id must look like <task>.<mode>.<family>[.<variant>] in lower case")
        else:
            for part in ("task", "mode", "family"):
                if m.group(part) != getattr(self, part):
                    out.append(f"id says {part} '{m.group(part)}' but the template says '{getattr(self, part)}'")
            if (m.group("variant") or None) != (self.variant or None):
                out.append(f"id says variant '{m.group('variant')}' but the template says '{self.variant}'")
        if self.mode not in TEMPLATE_MODES:
            out.append(f"mode '{self.mode}' is not one of {', '.join(TEMPLATE_MODES)}")
        for slot in self.slots:
            if "{" + slot + "}" not in self.text:
                out.append(f"slot '{slot}' is declared but '{{{slot}}}' does not appear in the text")
        if self.delivery == "llava_placeholders" and self.media_prefix is None:
            out.append("llava_placeholders delivery needs a media_prefix")
        pairwise_format = self.output_format in PAIRWISE_FORMATS
        if self.mode in TEMPLATE_MODES and pairwise_format != (TEMPLATE_MODES[self.mode] == "pairwise"):
            out.append(f"output format '{self.output_format}' does not fit {self.mode} judging")
        if self.output_format in ("verdict_phrases", "overall_judgment", "think_answer"):
            labels = {_phrase_label(p) for p in self.verdict_phrases}
            if not {"A", "B"} <= labels:
                out.append("verdict_phrases must name a phrase for each side ('... 1 is better', '... 2 is better')")
        if self.output_format in SCORE_FORMATS + ("pairwise_axis_scores",) and self.score_range is None:
            out.append(f"output format '{self.output_format}' needs a score_range")
        if self.output_format in ("axis_scores", "videoscore", "pairwise_axis_scores") and not self.axes:
            out.append(f"output format '{self.output_format}' needs axes")
        if self.max_new_tokens <= 0:
            out.append("max_new_tokens must be positive")
        if self.readout is not None:
            out.extend(self._readout_problems(self.readout))
        return out

    def _readout_problems(self, readout: Readout) -> list[str]:
        labels = set(readout.choices)
        if self.judging_mode == "pairwise":
            if not labels <= set(WINNERS) or not {"A", "B"} <= labels:
                return [f"pairwise readout labels must be A, B and optionally tie, not {sorted(labels)}"]
            if "tie" in labels and not self.allows_tie:
                return ["readout offers a tie but the template's format has none"]
            return []
        try:
            values = [float(label) for label in labels]
        except ValueError:
            return [f"pointwise readout labels must be numbers, not {sorted(labels)}"]
        if self.score_range and not all(self.score_range[0] <= v <= self.score_range[1] for v in values):
            return [f"pointwise readout labels {sorted(labels)} fall outside the scale {self.score_range}"]
        return []

    # --- what the template is ------------------------------------------------------------------

    @property
    def judging_mode(self) -> str:
        """``pairwise`` or ``pointwise``: which kind of item the template judges."""
        return judging_mode(self.mode)

    @property
    def allows_tie(self) -> bool:
        return any(_phrase_label(p) == "tie" for p in self.verdict_phrases) or self.output_format == "pairwise_axis_scores"

    @property
    def subject(self) -> str:
        """What the verdict phrases compare: ``Image``, ``Video`` or ``Answer``."""
        for phrase in self.verdict_phrases:
            m = re.match(r"\s*(\w+)\s*[12]\b", phrase)
            if m:
                return m.group(1)
        return {"image": "Image", "video": "Video"}.get(self.media_kind.split("_")[0], "Image")

    @property
    def axis_keys(self) -> tuple[str, ...]:
        return tuple(axis_key(a) for a in self.axes)

    # --- rendering ---------------------------------------------------------------------------------

    def render(self, **values: str) -> str:
        """The text with every slot replaced by its value, verbatim, in a single pass."""
        missing = [s for s in self.slots if s not in values]
        unknown = [k for k in values if k not in self.slots]
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing slot values {missing}")
            if unknown:
                parts.append(f"unknown slots {unknown}.{did_you_mean(unknown[0], self.slots)}")
            raise TemplateError("; ".join(parts), who=f"template '{self.id}'",
                                fix=f"Pass exactly these slots: {', '.join(self.slots) or 'none'}")
        for name, value in values.items():
            if not isinstance(value, str):
                raise TemplateError(f"slot '{name}' must be a string, got {type(value).__name__}",
                                    who=f"template '{self.id}'", fix=f"Convert the value of '{name}' with str() first")
        if not self.slots:
            return self.text
        pattern = _slot_pattern(self.slots)
        return pattern.sub(lambda m: values[m.group(1)], self.text)

    def prefix(self, media_units: int | None = None) -> str:
        """The LLaVA placeholder prefix for ``media_units`` images or frames ('' for Qwen-style delivery)."""
        if self.media_prefix is None:
            return ""
        return self.media_prefix.render(media_units, template_id=self.id)

    def prompt(self, values: Mapping[str, str], *, media_units: int | None = None) -> str:
        """The full text part: media prefix (LLaVA templates) + rendered text."""
        return self.prefix(media_units) + self.render(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what ``unireward templates --json`` prints)."""
        return {
            "id": self.id,
            "task": self.task,
            "mode": self.mode,
            "judging_mode": self.judging_mode,
            "family": self.family,
            "variant": self.variant,
            "slots": list(self.slots),
            "text": self.text,
            "media_kind": self.media_kind,
            "media_count": self.media_count,
            "delivery": self.delivery,
            "media_prefix": self.media_prefix.to_dict() if self.media_prefix else None,
            "frames_per_video": self.frames_per_video,
            "output_format": self.output_format,
            "verdict_phrases": list(self.verdict_phrases),
            "allows_tie": self.allows_tie if self.judging_mode == "pairwise" else None,
            "score_range": list(self.score_range) if self.score_range else None,
            "axes": list(self.axis_keys),
            "dimension_range": list(self.dimension_range) if self.dimension_range else None,
            "max_new_tokens": self.max_new_tokens,
            "readout": attrs.asdict(self.readout) if self.readout else None,
            "readout_unavailable": self.readout_unavailable or None,
            "notes": list(self.notes),
            "source": dict(self.source),
        }


@functools.lru_cache(maxsize=256)
def _slot_pattern(slots: tuple[str, ...]) -> re.Pattern:
    return re.compile("\\{(" + "|".join(re.escape(s) for s in slots) + ")\\}")


def _phrase_label(phrase: str) -> str | None:
    """Which side a verdict phrase names: ``A`` ('... 1 is better'), ``B``, ``tie`` ('... equally good')."""
    if re.search(r"equally\s+good", phrase, re.I):
        return "tie"
    m = re.search(r"\b([12])\s+is\s+better", phrase, re.I)
    return {"1": "A", "2": "B"}[m.group(1)] if m else None


def phrase_label(phrase: str) -> str | None:
    """Public alias of the phrase -> label rule (``A``, ``B``, ``tie`` or None)."""
    return _phrase_label(phrase)


# --- readouts -----------------------------------------------------------------------------------------


def _quoted_with_period(text: str, phrase: str) -> bool:
    return f'"{phrase}."' in text or f"'{phrase}.'" in text


def default_readout(template: Template, *, exact: bool = False, fractional: bool = False) -> tuple[Readout | None, str]:
    """The fast-head readout for a template, or (None, why not).

    ``exact``: the checkpoint's whole answer is prefix + choice (a fact about checkpoints, stated by the
    caller). ``fractional``: the checkpoint writes floats (e.g. 2.6947): the first digit d then stands for
    the interval [d, d+1) and is read as its midpoint.
    """
    fmt = template.output_format
    if fmt == "think_answer":
        return None, ("chain of thought: the verdict depends on reasoning generated before it; use the generative "
                      "head, or the plain pairwise template (Think checkpoints also answer it without CoT)")
    if fmt == "pairwise_axis_scores":
        return None, "the answer is per-axis float shares, not a verdict token; use the generative head"
    if fmt in ("verdict_phrases", "overall_judgment"):
        # end every choice with a period only when the prompt quotes every phrase with one, so the choices
        # differ only in the verdict itself
        with_period = fmt == "overall_judgment" or all(
            _quoted_with_period(template.text, p) for p in template.verdict_phrases)
        choices = {}
        for phrase in template.verdict_phrases:
            label = _phrase_label(phrase)
            if label is not None and label not in choices:
                choices[label] = phrase + ("." if with_period else "")
        if fmt == "overall_judgment":
            return Readout("Overall Judgment: ", choices, exact=False,
                           note="skips the per-criterion reasoning the checkpoint writes before its judgment"), ""
        note = "" if exact else "the checkpoint may write a comparison before its conclusion; the readout skips it"
        return Readout("", choices, exact=exact, note=note), ""
    # score formats: teacher-force the marker, read the first token of the number
    lo, hi = template.score_range  # type: ignore[misc]
    if fmt == "axis_scores":
        prefix = f"{template.axes[0]} Score ({lo:g}-{hi:g}): "
        skipped = f"reads the first axis ({axis_key(template.axes[0])}) only"
        if "Word-wise" in template.text:
            skipped += " and skips the word-wise scores line"
    else:
        prefix = "Final Score: "
        skipped = ("skips the five dimension lines (and that final score was never supervised)"
                   if fmt == "videoscore" else "skips any explanation or checklist before the score")
    choices, scale_note = _score_choices(lo, hi, fractional)
    return Readout(prefix, choices, exact=False, note="; ".join(n for n in (skipped, scale_note) if n)), ""


def _score_choices(lo: float, hi: float, fractional: bool) -> tuple[dict[str, str], str]:
    """Labels (values) -> choice text (the number's first token), none a prefix of another."""
    if not (float(lo).is_integer() and float(hi).is_integer()):
        raise TemplateError(f"no readout for a non-integer scale {lo}-{hi}",
                            fix="Use a whole-number score_range, or give the template a readout (prefix, choices)")
    lo_i, hi_i = int(lo), int(hi)
    if hi_i <= 9:
        if fractional:
            choices = {f"{d + 0.5:g}" if d < hi_i else f"{d:g}": str(d) for d in range(lo_i, hi_i + 1)}
            return choices, "floats are read by their first digit d, valued at d + 0.5 (the top value as itself)"
        return {str(d): str(d) for d in range(lo_i, hi_i + 1)}, ""
    if hi_i == 10:
        return ({str(d): str(d) for d in range(max(lo_i, 0), 10)},
                "'10' is left out: its first token is the same as '1'")
    if hi_i == 100:
        return ({f"{10 * d + 4.5:g}": str(d) for d in range(1, 10)},
                "reads the first digit d as the decade [10d, 10d+9] valued at its midpoint; scores below 10 and 100 "
                "are not represented")
    raise TemplateError(f"no readout rule for the scale {lo:g}-{hi:g}",
                        fix="Give the template a readout table (prefix, choices), or readout = false")


# --- the UnifiedReward catalogue -------------------------------------------------------------------


def _output_format(entry: Mapping[str, Any]) -> str:
    expected = entry.get("expected_output") or {}
    mode = entry["mode"]
    if expected.get("answer_tags"):
        return "think_answer"
    if expected.get("verdict_marker"):
        return "overall_judgment"
    if mode == "pairwise_rank":
        return "verdict_phrases"
    if mode == "pairwise_score":
        return "pairwise_axis_scores"
    if mode == "pointwise_multi":
        markers = expected.get("score_markers") or []
        return "videoscore" if any(m.lower().startswith("visual quality") for m in markers) else "axis_scores"
    return "final_score"


def _axes(fmt: str, markers: Iterable[str]) -> tuple[str, ...]:
    out = []
    for marker in markers:
        if fmt in ("axis_scores", "pairwise_axis_scores"):
            m = re.match(r"^(?!Word-wise)(.+?) Score\b", marker)
            if m:
                out.append(m.group(1))
        elif fmt == "videoscore" and not marker.lower().startswith("final score"):
            out.append(marker.rstrip(":").strip())
    return tuple(out)


def _catalogue_prefix(entry: Mapping[str, Any]) -> MediaPrefix | None:
    prefix = entry.get("media_prefix")
    if not prefix:
        return None
    if prefix["repeat"] == "fixed":
        return MediaPrefix("fixed", prefix.get("placeholder", "<image>\n"), prefix["literal"], int(prefix["count"]))
    return MediaPrefix("per_frame", prefix.get("placeholder", "<image>\n"),
                       reference_count=prefix.get("reference_count"))


def _catalogue_media_count(entry: Mapping[str, Any]) -> int:
    media = entry.get("media") or {}
    if media.get("count"):
        return int(media["count"])
    if media.get("order"):
        return len(media["order"])
    generation = entry["task"].endswith("_generation")
    return 2 if generation and TEMPLATE_MODES.get(entry["mode"]) == "pairwise" else 1


def template_from_catalogue(
    entry: Mapping[str, Any],
    *,
    max_new_tokens: int | None = None,
    exact_readout: bool = False,
    fractional_scores: bool = False,
    source: Mapping[str, Any] | None = None,
) -> Template:
    """A :class:`Template` from one entry of a catalogue in the ``unifiedreward_templates.json`` format.

    Fields the catalogue has are taken as written; the rest (parser, axes, readout) are derived from its
    ``mode`` and ``expected_output``. ``source`` adds attribution (repository, commit, license).
    """
    fmt = _output_format(entry)
    expected = entry.get("expected_output") or {}
    media = entry.get("media") or {}
    delivery = media.get("delivery", "content_parts_before_text")
    if delivery not in DELIVERIES:
        # e.g. the SGLang client: an image part plus the "<image>\n" placeholder written in the text
        delivery = "llava_placeholders" if entry.get("media_prefix") else "content_parts_before_text"
    phrases = tuple(expected.get("verdict_phrases") or ())
    if not phrases and fmt == "verdict_phrases":
        # the prompt fixes no phrase; the repository's evaluation scripts look for these
        phrases = ("Answer 1 is better", "Answer 2 is better")
    id_parts = entry["id"].split(".")
    kwargs: dict[str, Any] = dict(
        id=entry["id"],
        task=entry["task"],
        mode=entry["mode"],
        family=entry["family"],
        variant=id_parts[3] if len(id_parts) > 3 else None,
        text=entry["text"],
        slots=tuple(entry.get("slots") or ()),
        media_kind=media.get("kind", "image"),
        media_count=_catalogue_media_count(entry),
        delivery=delivery,
        media_prefix=_catalogue_prefix(entry),
        frames_per_video=media.get("frames_per_video"),
        output_format=fmt,
        verdict_phrases=phrases,
        score_range=entry.get("score_range") if fmt != "pairwise_axis_scores" else (entry.get("score_range") or (0, 1)),
        axes=_axes(fmt, expected.get("score_markers") or ()),
        dimension_range=expected.get("dimension_range"),
        max_new_tokens=max_new_tokens or DEFAULT_MAX_NEW_TOKENS[fmt],
        notes=tuple(entry.get("notes") or ()),
        source={**(source or {}), "catalogue_ref": entry.get("catalogue_ref"),
                "source_path": entry.get("source_path"), "source_line": entry.get("source_line")},
    )
    draft = Template(**kwargs)
    readout, why = default_readout(draft, exact=exact_readout, fractional=fractional_scores)
    return attrs.evolve(draft, readout=readout, readout_unavailable=why)


def catalogue_attribution(data: Mapping[str, Any]) -> dict[str, Any]:
    """The provenance and license fields of a catalogue document, for :attr:`Template.source`."""
    return {k: data.get(k) for k in ("source_repo", "source_commit", "license", "copyright")}


# --- user templates (TOML / JSON files) ------------------------------------------------------------

_USER_KEYS = (
    "id", "task", "mode", "family", "variant", "text", "slots", "media_kind", "media_count", "delivery",
    "media_prefix", "frames_per_video", "output_format", "verdict_phrases", "score_range", "axes",
    "dimension_range", "max_new_tokens", "readout", "notes", "extends", "override",
)
_OUTPUT_SHAPING = ("output_format", "verdict_phrases", "score_range", "axes", "text")
_FORMAT_FOR_MODE = {
    "pairwise_rank": "verdict_phrases",
    "pairwise_cot": "think_answer",
    "pairwise_score": "pairwise_axis_scores",
    "pointwise_score": "final_score",
    "pointwise_multi": "axis_scores",
}


def _user_prefix(value: Any) -> MediaPrefix | None:
    if value is None or value is False:
        return None
    if isinstance(value, MediaPrefix):
        return value
    if isinstance(value, str):
        return MediaPrefix("fixed", literal=value, count=value.count(IMAGE_PLACEHOLDER))
    value = dict(value)
    repeat = value.pop("repeat", "fixed")
    if repeat == "fixed" and "literal" in value and "count" not in value:
        value["count"] = value["literal"].count(IMAGE_PLACEHOLDER)
    return MediaPrefix(repeat, **value)


def _user_readout(value: Any) -> Readout:
    value = dict(value)
    return Readout(prefix=value.get("prefix", ""), choices=value["choices"], exact=bool(value.get("exact", False)),
                   note=value.get("note", ""))


def template_from_mapping(data: Mapping[str, Any], *, bases: Mapping[str, Template] | None = None,
                          source: str = "template definition") -> tuple[Template, bool]:
    """A user template from plain data, and whether it overrides an existing id (``override = true``).

    ``extends = "<id>"`` starts from an existing template (looked up in ``bases``) and changes only the
    given fields; an ``override`` of a template in ``bases`` extends it implicitly.
    """
    data = dict(data)
    unknown = [k for k in data if k not in _USER_KEYS]
    if unknown:
        raise TemplateError(f"unknown template keys {unknown}.{did_you_mean(unknown[0], _USER_KEYS)}", who=source,
                            fix=f"Allowed keys: {', '.join(_USER_KEYS)}")
    if "id" not in data:
        raise TemplateError("a template needs an 'id' (<task>.<mode>.<family>[.<variant>])", who=source,
                            fix='Add one, e.g. id = "image_generation.pointwise_score.mine"')
    tid = data["id"]
    where = f"{source}: template '{tid}'"
    override = bool(data.pop("override", False))
    base_id = data.pop("extends", tid if override and bases and tid in bases else None)
    m = _ID.match(tid)
    if not m:
        raise TemplateError("id must look like <task>.<mode>.<family>[.<variant>] in lower case", who=where,
                            fix='Use lower-case parts joined by dots, e.g. "image_generation.pointwise_score.mine"')
    for part in ("task", "mode", "family", "variant"):
        data.setdefault(part, m.group(part))
    if "readout" in data:
        readout_given = data.pop("readout")
        readout = None if readout_given is False else _user_readout(readout_given)
    else:
        readout_given, readout = None, None
    if "media_prefix" in data:
        data["media_prefix"] = _user_prefix(data["media_prefix"])
        data.setdefault("delivery", "llava_placeholders" if data["media_prefix"] else "content_parts_before_text")
    try:
        if base_id is not None:
            if not bases or base_id not in bases:
                raise TemplateError(f"extends unknown template '{base_id}'.{did_you_mean(base_id, bases or ())}",
                                    who=where, fix="Extend a registered template id (`unireward templates` lists them)")
            base = bases[base_id]
            if "text" in data and "slots" not in data:
                data["slots"] = tuple(dict.fromkeys(_SLOT.findall(data["text"])))
            reshaped = any(k in data and data[k] != getattr(base, k) for k in _OUTPUT_SHAPING)
            draft = attrs.evolve(base, readout=None, readout_unavailable="",
                                 source={"defined_in": source, "extends": base_id}, **data)
            if readout_given is None and not reshaped:
                readout, why = base.readout, base.readout_unavailable
            else:
                why = ""
        else:
            if "text" not in data:
                raise TemplateError("a new template needs its 'text'", who=where,
                                    fix="Add text = \"...\" with the prompt, or extends = \"<id>\" to start from one")
            data.setdefault("slots", tuple(dict.fromkeys(_SLOT.findall(data["text"]))))
            data.setdefault("output_format", _FORMAT_FOR_MODE.get(data["mode"], "final_score"))
            data.setdefault("max_new_tokens", DEFAULT_MAX_NEW_TOKENS.get(data["output_format"], 256))
            draft = Template(source={"defined_in": source}, **data)
            why = ""
        if readout_given is None and readout is None and not why:
            try:
                readout, why = default_readout(draft)
            except TemplateError as exc:
                readout, why = None, exc.what
        elif readout_given is False:
            why = "disabled by the template definition"
        return attrs.evolve(draft, readout=readout, readout_unavailable="" if readout else why), override
    except TemplateError as exc:
        if exc.who and source in exc.who:
            raise
        raise TemplateError(exc.what, who=where, fix=exc.fix) from exc
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"invalid template: {exc}", who=where,
                            fix="Correct that value (`unireward templates --json` shows valid templates)") from exc


def read_template_file(path: str | Path, *, bases: Mapping[str, Template] | None = None) -> list[tuple[Template, bool]]:
    """Templates from a TOML or JSON file: ``[[templates]]`` tables (TOML) or ``{"templates": [...]}``.

    Each entry is a flat table (see :func:`template_from_mapping`) or an entry in the catalogue format
    of ``unifiedreward_templates.json`` (recognised by its ``media`` table). Returns (template, override).
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TemplateError("template file not found", who=str(path),
                            fix="Check the path given as the template file (e.g. --templates-file)") from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            import tomllib

            data = tomllib.loads(raw)
    except (ValueError, json.JSONDecodeError) as exc:
        raise TemplateError(f"cannot read the file: {exc}", who=str(path),
                            fix="Write TOML ([[templates]] tables) or JSON ({\"templates\": [...]})") from exc
    entries = data.get("templates", data.get("template")) if isinstance(data, Mapping) else data
    if not isinstance(entries, list) or not entries:
        raise TemplateError("no templates in the file", who=str(path),
                            fix="Add [[templates]] tables (TOML) or a \"templates\" list (JSON)")
    out = []
    attribution = catalogue_attribution(data) if isinstance(data, Mapping) else {}
    for entry in entries:
        if isinstance(entry, Mapping) and isinstance(entry.get("media"), Mapping):
            entry = dict(entry)
            override = bool(entry.pop("override", False))
            try:
                out.append((template_from_catalogue(entry, source={**attribution, "defined_in": str(path)}), override))
            except (KeyError, TypeError, ValueError) as exc:
                raise TemplateError(f"invalid catalogue entry: {exc!r}", who=f"{path}: {entry.get('id')}",
                                    fix="Match the entries of unifiedreward_templates.json (id, text, media...)") from exc
        else:
            out.append(template_from_mapping(entry, bases=bases, source=str(path)))
    seen: set[str] = set()
    for template, _ in out:
        if template.id in seen:
            raise TemplateError(f"template '{template.id}' is defined twice", who=str(path),
                                fix="Give each template in the file its own id, or delete one copy")
        seen.add(template.id)
    return out


# --- registration ---------------------------------------------------------------------------------


def _same(template: Template) -> Template:
    return template


def template_spec(template: Template, *, override: bool = False) -> TemplateSpec:
    """The registration record of one template (what ``unireward_register_templates`` yields)."""
    summary = f"{template.judging_mode} {template.output_format} for {template.task} ({template.family})"
    return TemplateSpec(name=template.id, task=template.task, mode=template.mode, family=template.family,
                        factory=functools.partial(_same, template), summary=summary, override=override)


def template_specs(templates: Iterable[Template], *, override: bool = False) -> list[TemplateSpec]:
    return [template_spec(t, override=override) for t in templates]


class TemplateFilePlugin:
    """A plugin made from a template file: ``host.register(templates_plugin("mine.toml"), name="mine")``."""

    def __init__(self, path: str | Path, bases: Mapping[str, Template] | None = None):
        self.path = Path(path)
        self.entries = read_template_file(self.path, bases=bases)  # errors surface now, not at first use

    @hookimpl
    def unireward_register_templates(self):
        for template, override in self.entries:
            yield template_spec(template, override=override)


def templates_plugin(path: str | Path, *, bases: Mapping[str, Template] | None = None) -> TemplateFilePlugin:
    """A plugin object yielding the templates of a TOML/JSON file (see :func:`read_template_file`)."""
    return TemplateFilePlugin(path, bases)


def registered_templates(registry: Any) -> dict[str, Template]:
    """Every template a registry resolves unambiguously, by id (conflicting ids are left out)."""
    out = {}
    for name in registry.names("template"):
        providers = registry.host.resolve("template", name)
        if len(providers) == 1:
            out[name] = providers[0].spec.create()
    return out


def register_template_file(registry: Any, path: str | Path) -> TemplateFilePlugin:
    """Load a TOML/JSON template file into ``registry`` as a plugin named ``templates:<path>``.

    Entries may ``extends`` any template the registry already knows; ``override = true`` replaces one.
    """
    plugin = templates_plugin(path, bases=registered_templates(registry))
    registry.host.register(plugin, name=f"templates:{path}")
    failure = next((f for f in registry.host.failures if f.plugin == f"templates:{path}"), None)
    if failure is not None:
        raise TemplateError(failure.error, who=str(path),
                            fix=f"Load the file once per registry (it registers as plugin 'templates:{path}')")
    return plugin
