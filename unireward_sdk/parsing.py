"""Read a judge's answer: one parser per output format, each returning a Verdict or a Score record.

Formats (a template's ``output_format``):

- ``verdict_phrases``: "Image 1 is better." (Qwen) / "Image 1 is better than Image 2." (LLaVA) / "Video 2 is
  better" / "Answer 1 is better" / "Both images are equally good" (only where the format has ties);
- ``overall_judgment``: "Overall Judgment: Answer 1 is better than Answer 2." (the sentence after the last
  marker decides; without a marker the whole text is read like ``verdict_phrases``);
- ``think_answer``: the verdict inside ``<answer>…</answer>``; reasoning in ``<think>`` is ignored;
- ``pairwise_axis_scores``: UnifiedReward 2.0 per-axis shares " Image 1: 0.6" / " Image 2: 0.4" summing to
  1; the winner has the larger total (or the larger ``overall`` axis when there is one); equal is a tie;
- ``final_score``: the number after the last "Final Score:", decimals kept ("3.5" is 3.5);
- ``axis_scores``: "Alignment Score (1-5): 4" lines, one per axis; the score is their mean;
- ``videoscore``: five 1-4 dimension lines and "Final Score:" (1-10), which is the score.

Contradictory verdict phrases are ``ambiguous``; a number outside the template's scale is ``out_of_range``;
anything else that does not parse is ``unparsed``. Failures carry the raw text and say why. Nothing here
ever falls back to a default winner or score.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from .errors import TemplateError
from .records import ParseStatus, Provenance, Score, Verdict
from .templates import OUTPUT_FORMATS, Template, axis_key, phrase_label

NUMBER = r"[-+]?\d+(?:\.\d+)?"
_SIDE = {"1": "A", "2": "B", "first": "A", "second": "B"}
# a few characters of markdown / quoting that may sit between a marker and its value
_DECOR = r"[\s*_`\"'\[\(]*"


def _snippet(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _provenance(template: Template) -> Provenance:
    return Provenance(template_id=template.id)


def _verdict_failure(template: Template, raw: str, item_id: str, status: str, error: str, **kw: Any) -> Verdict:
    return Verdict.failure(item_id, status, error, raw=raw, provenance=_provenance(template), **kw)


def _score_failure(template: Template, raw: str, item_id: str, status: str, error: str, **kw: Any) -> Score:
    kw.setdefault("scale", template.score_range)
    return Score.failure(item_id, status, error, raw=raw, provenance=_provenance(template), **kw)


# --- verdict phrases ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _verdict_patterns(subject: str) -> tuple[re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    """Patterns for one subject noun: numbered win, ordinal win ('the first response'), tie, bare name."""
    noun = re.escape(subject.lower())
    if noun == "answer":
        noun = "(?:answer|response)"  # understanding prompts name them "Answer 1" or "The first response"
    win = re.compile(
        rf"\b{noun}\s*([12])\s+is\s+(?:the\s+|clearly\s+|slightly\s+)?better"
        rf"(?:\s+than\s+(?:the\s+)?{noun}\s*([12])\b)?",
        re.I,
    )
    ordinal = re.compile(rf"\bthe\s+(first|second)\s+{noun}\s+is\s+(?:the\s+)?better", re.I)
    tie = re.compile(rf"\bboth\s+{noun}s\s+are\s+equally\s+good", re.I)
    bare = re.compile(rf"^[\W_]*{noun}\s*([12])[\W_]*$", re.I)
    return win, ordinal, tie, bare


def find_verdicts(text: str, subject: str) -> list[tuple[str, str]]:
    """Every verdict phrase in ``text``, in order, as (label, matched text); label A, B, tie or 'self'."""
    win, ordinal, tie, _ = _verdict_patterns(subject)
    found: list[tuple[int, str, str]] = []
    for m in win.finditer(text):
        side = _SIDE[m.group(1)]
        # "Image 1 is better than Image 1" compares a side with itself: it names no winner
        label = "self" if m.group(2) and m.group(2) == m.group(1) else side
        found.append((m.start(), label, m.group(0)))
    for m in ordinal.finditer(text):
        found.append((m.start(), _SIDE[m.group(1).lower()], m.group(0)))
    for m in tie.finditer(text):
        found.append((m.start(), "tie", m.group(0)))
    return [(label, phrase) for _, label, phrase in sorted(found)]


def _decide(template: Template, raw: str, item_id: str, found: list[tuple[str, str]], where: str) -> Verdict:
    expected = " / ".join(f"'{p}'" for p in template.verdict_phrases)
    if not found:
        return _verdict_failure(template, raw, item_id, ParseStatus.UNPARSED,
                                f"no verdict phrase in {where} (expected {expected})")
    labels = {label for label, _ in found}
    phrases = "; ".join(dict.fromkeys(f"'{p}'" for _, p in found))
    if "self" in labels:
        return _verdict_failure(template, raw, item_id, ParseStatus.AMBIGUOUS,
                                f"a verdict compares one side with itself: {phrases}")
    if len(labels) > 1:
        return _verdict_failure(template, raw, item_id, ParseStatus.AMBIGUOUS,
                                f"contradictory verdict phrases in {where}: {phrases}")
    (label,) = labels
    if label == "tie" and not template.allows_tie:
        return _verdict_failure(template, raw, item_id, ParseStatus.UNPARSED,
                                f"the judge declared a tie ({phrases}), which this format does not allow "
                                f"(expected {expected})")
    return Verdict(item_id=item_id, winner=label, raw=raw, provenance=_provenance(template))


def parse_verdict_phrases(template: Template, raw: str, item_id: str = "") -> Verdict:
    return _decide(template, raw, item_id, find_verdicts(raw, template.subject), "the answer")


_JUDGMENT = re.compile(r"overall\s+judge?ment", re.I)


def parse_overall_judgment(template: Template, raw: str, item_id: str = "") -> Verdict:
    markers = list(_JUDGMENT.finditer(raw))
    if not markers:
        return _decide(template, raw, item_id, find_verdicts(raw, template.subject), "the answer (no 'Overall Judgment')")
    after = raw[markers[-1].end():].lstrip(" \t\r\n*_#:-")
    # the judgment is the first sentence after the marker (a '.' that is not a decimal point, or a line end)
    sentence = re.match(r"(?:[^.\n]|\.(?=\d))*", after).group(0)  # type: ignore[union-attr]
    found = find_verdicts(sentence, template.subject)
    if not found:
        bare = _verdict_patterns(template.subject)[3].match(sentence)
        if bare:
            found = [(_SIDE[bare.group(1)], bare.group(0).strip())]
    if not found:
        return _verdict_failure(template, raw, item_id, ParseStatus.UNPARSED,
                                f"'Overall Judgment' names no winner: '{_snippet(sentence)}'")
    return _decide(template, raw, item_id, found, "the overall judgment")


_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.I | re.S)
_OPEN_ANSWER = re.compile(r"<answer>((?:(?!<answer>).)*)$", re.I | re.S)


def parse_think_answer(template: Template, raw: str, item_id: str = "") -> Verdict:
    answers = _ANSWER.findall(raw)
    if not answers:
        # a generation cut at its token budget may close with an unterminated final answer
        tail = _OPEN_ANSWER.search(raw)
        answers = [tail.group(1)] if tail else []
    if not answers:
        think = "present" if re.search(r"</?think>", raw, re.I) else "absent"
        return _verdict_failure(template, raw, item_id, ParseStatus.UNPARSED,
                                f"no <answer>…</answer> section (think tags {think})")
    found: list[tuple[str, str]] = []
    for answer in answers:
        if not answer.strip():
            return _verdict_failure(template, raw, item_id, ParseStatus.UNPARSED, "the <answer> section is empty")
        here = find_verdicts(answer, template.subject)
        if not here:
            return _verdict_failure(template, raw, item_id, ParseStatus.UNPARSED,
                                    f"the <answer> section holds no verdict phrase: '{_snippet(answer)}'")
        found.extend(here)
    return _decide(template, raw, item_id, found, "the <answer> section")


# --- UnifiedReward 2.0 pairwise axis scores -------------------------------------------------------

_SUM_TOLERANCE = 0.05


def parse_pairwise_axis_scores(template: Template, raw: str, item_id: str = "") -> Verdict:
    subject = re.escape(template.subject)
    headers = [
        (m.start(), m.end(), axis_key(m.group(1)))
        for m in re.finditer(r"\b([A-Za-z][A-Za-z-]*)\s+Score\s*[:：]", raw)
    ]
    wanted = set(template.axis_keys)
    values: dict[str, tuple[float, float]] = {}
    for i, (_, end, key) in enumerate(headers):
        if key not in wanted and key != "overall":
            continue
        stop = headers[i + 1][0] if i + 1 < len(headers) else len(raw)
        section = raw[end:stop]
        one = re.search(rf"\b{subject}\s*1\s*[:：]{_DECOR}({NUMBER})", section, re.I)
        two = re.search(rf"\b{subject}\s*2\s*[:：]{_DECOR}({NUMBER})", section, re.I)
        if one and two:
            values[key] = (float(one.group(1)), float(two.group(1)))  # a later block of the same axis wins
    missing = [k for k in template.axis_keys if k not in values]
    if missing:
        return _verdict_failure(template, raw, item_id, ParseStatus.UNPARSED,
                                f"no '{template.subject} 1: x' / '{template.subject} 2: y' scores for {', '.join(missing)}",
                                dimension_scores=values)
    lo, hi = template.score_range or (0.0, 1.0)
    for key, (a, b) in values.items():
        if not (lo <= a <= hi and lo <= b <= hi):
            return _verdict_failure(template, raw, item_id, ParseStatus.OUT_OF_RANGE,
                                    f"{key} scores {a:g} / {b:g} fall outside [{lo:g}, {hi:g}]", dimension_scores=values)
        if abs(a + b - 1.0) > _SUM_TOLERANCE:
            return _verdict_failure(template, raw, item_id, ParseStatus.OUT_OF_RANGE,
                                    f"{key} scores {a:g} + {b:g} sum to {a + b:g}, not 1", dimension_scores=values)
    if "overall" in values:
        first, second = values["overall"]
    else:
        first = sum(values[k][0] for k in template.axis_keys)
        second = sum(values[k][1] for k in template.axis_keys)
    winner = "tie" if abs(first - second) < 1e-9 else ("A" if first > second else "B")
    return Verdict(item_id=item_id, winner=winner, raw=raw, dimension_scores=values, provenance=_provenance(template))


# --- scores ---------------------------------------------------------------------------------------

_FINAL = re.compile(r"final\s+score\s*(?:\(\s*\d+\s*-\s*\d+\s*\))?\s*[:：]", re.I)


def _final_number(raw: str) -> tuple[float | None, str]:
    """The number after the last 'Final Score:' that has one, or (None, why not)."""
    markers = list(_FINAL.finditer(raw))
    if not markers:
        return None, "no 'Final Score:' in the answer"
    for m in reversed(markers):
        number = re.match(_DECOR + f"({NUMBER})", raw[m.end():])
        if number:
            return float(number.group(1)), ""
    return None, f"'Final Score:' is not followed by a number: '{_snippet(raw[markers[-1].start():])}'"


def _in_range(value: float, scale: tuple[float, float] | None) -> bool:
    return scale is None or scale[0] <= value <= scale[1]


def parse_final_score(template: Template, raw: str, item_id: str = "") -> Score:
    value, why = _final_number(raw)
    if value is None:
        return _score_failure(template, raw, item_id, ParseStatus.UNPARSED, why)
    if not _in_range(value, template.score_range):
        lo, hi = template.score_range  # type: ignore[misc]
        return _score_failure(template, raw, item_id, ParseStatus.OUT_OF_RANGE,
                              f"Final Score {value:g} is outside the scale {lo:g}-{hi:g}")
    return Score(item_id=item_id, value=value, scale=template.score_range, raw=raw, provenance=_provenance(template))


def _axis_values(raw: str, names: tuple[str, ...], pattern: Callable[[str], str]) -> dict[str, float]:
    values = {}
    for name in names:
        matches = re.findall(pattern(name), raw, re.I)
        if matches:
            values[axis_key(name)] = float(matches[-1])  # the last line of an axis is the answer's final word
    return values


def parse_axis_scores(template: Template, raw: str, item_id: str = "") -> Score:
    def pattern(name: str) -> str:
        return rf"\b{re.escape(name)}\s+score\s*(?:\(\s*\d+\s*-\s*\d+\s*\))?\s*[:：]{_DECOR}({NUMBER})"

    values = _axis_values(raw, template.axes, pattern)
    missing = [k for k in template.axis_keys if k not in values]
    if missing:
        return _score_failure(template, raw, item_id, ParseStatus.UNPARSED,
                              f"no score line for {', '.join(missing)} (expected '{template.axes[0]} Score "
                              f"({template.score_range[0]:g}-{template.score_range[1]:g}): x' lines)",  # type: ignore[index]
                              dimensions=values)
    outside = {k: v for k, v in values.items() if not _in_range(v, template.score_range)}
    if outside:
        lo, hi = template.score_range  # type: ignore[misc]
        return _score_failure(template, raw, item_id, ParseStatus.OUT_OF_RANGE,
                              f"axis scores outside {lo:g}-{hi:g}: " + ", ".join(f"{k}={v:g}" for k, v in outside.items()),
                              dimensions=values)
    mean = sum(values.values()) / len(values)
    return Score(item_id=item_id, value=mean, scale=template.score_range, dimensions=values, raw=raw,
                 provenance=_provenance(template))


def parse_videoscore(template: Template, raw: str, item_id: str = "") -> Score:
    def pattern(name: str) -> str:
        return rf"(?<![\w-]){re.escape(name)}\s*[:：]{_DECOR}({NUMBER})"

    dims = _axis_values(raw, template.axes, pattern)
    dim_range = template.dimension_range
    outside = {k: v for k, v in dims.items() if not _in_range(v, dim_range)}
    if outside:
        lo, hi = dim_range  # type: ignore[misc]
        return _score_failure(template, raw, item_id, ParseStatus.OUT_OF_RANGE,
                              "dimension scores outside " + f"{lo:g}-{hi:g}: "
                              + ", ".join(f"{k}={v:g}" for k, v in outside.items()), dimensions=dims)
    value, why = _final_number(raw)
    if value is None:
        return _score_failure(template, raw, item_id, ParseStatus.UNPARSED, why, dimensions=dims)
    if not _in_range(value, template.score_range):
        lo, hi = template.score_range  # type: ignore[misc]
        return _score_failure(template, raw, item_id, ParseStatus.OUT_OF_RANGE,
                              f"Final Score {value:g} is outside the scale {lo:g}-{hi:g}", dimensions=dims)
    return Score(item_id=item_id, value=value, scale=template.score_range, dimensions=dims, raw=raw,
                 provenance=_provenance(template))


PARSERS: dict[str, Callable[[Template, str, str], Verdict | Score]] = {
    "verdict_phrases": parse_verdict_phrases,
    "overall_judgment": parse_overall_judgment,
    "think_answer": parse_think_answer,
    "pairwise_axis_scores": parse_pairwise_axis_scores,
    "final_score": parse_final_score,
    "axis_scores": parse_axis_scores,
    "videoscore": parse_videoscore,
}
assert set(PARSERS) == set(OUTPUT_FORMATS), "every output format needs a parser"


def parse(template: Template, raw: str | None, item_id: str = "") -> Verdict | Score:
    """Parse a judge's answer with the template's parser. Never raises on bad text: returns a failure."""
    parser = PARSERS.get(template.output_format)
    if parser is None:  # pragma: no cover - Template validates output_format
        raise TemplateError(f"no parser for output format '{template.output_format}'", who=f"template '{template.id}'",
                            fix=f"Set output_format to one of: {', '.join(PARSERS)}")
    text = "" if raw is None else str(raw)
    if not text.strip():
        fail = _verdict_failure if template.judging_mode == "pairwise" else _score_failure
        return fail(template, text, item_id, ParseStatus.UNPARSED, "the judge returned an empty answer")
    return parser(template, text, item_id)


# --- canonical answers (for contract tests and documentation) ------------------------------------


def example_outputs(template: Template) -> list[tuple[str, dict[str, Any]]]:
    """Well-formed answers in the template's format with what they must parse to.

    Each item is (answer text, expected) with expected ``{"winner": ...}`` or ``{"value": ..., "dimensions": ...}``.
    """
    fmt = template.output_format
    out: list[tuple[str, dict[str, Any]]] = []
    if fmt in ("verdict_phrases", "overall_judgment", "think_answer"):
        for phrase in template.verdict_phrases:
            label = phrase_label(phrase)
            if fmt == "verdict_phrases":
                text = f"Both candidates follow the request; weighing the criteria above, {phrase}."
            elif fmt == "overall_judgment":
                text = f"1. Accuracy: both are accurate.\n2. Clarity: similar.\nOverall Judgment: {phrase}."
            else:
                text = f"<think>\n1. Semantic accuracy: 8/10 vs 7/10\nTotal score: 8 vs 7\n</think>\n<answer>{phrase}</answer>"
            out.append((text, {"winner": label}))
        return out
    if fmt == "pairwise_axis_scores":
        s = template.subject
        for first, winner in ((0.7, "A"), (0.3, "B"), (0.5, "tie")):
            blocks = "\n\n".join(f"{a} Score:\n {s} 1: {first:g}\n {s} 2: {1 - first:g}" for a in template.axes)
            out.append((blocks, {"winner": winner}))
        return out
    lo, hi = template.score_range  # type: ignore[misc]
    if fmt == "final_score":
        for value in (lo, hi, (lo + hi) / 2):
            out.append((f"The answer addresses the request.\nFinal Score: {value:g}", {"value": value}))
        return out
    if fmt == "axis_scores":
        values = [lo + (hi - lo) * f for f in (1.0, 0.5, 0.0, 0.25)][: len(template.axes)]
        lines = "\n".join(f"{a} Score ({lo:g}-{hi:g}): {v:g}" for a, v in zip(template.axes, values))
        dims = {axis_key(a): v for a, v in zip(template.axes, values)}
        out.append((lines, {"value": sum(values) / len(values), "dimensions": dims}))
        return out
    # videoscore
    dlo, dhi = template.dimension_range or (1, 4)
    dims = {axis_key(a): float(dlo + i % int(dhi - dlo + 1)) for i, a in enumerate(template.axes)}
    lines = "\n".join(f"{a}: {dims[axis_key(a)]:g}" for a in template.axes)
    out.append((f"{lines}\nFinal Score: {hi:g}", {"value": float(hi), "dimensions": dims}))
    return out
