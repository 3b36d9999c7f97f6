"""Frozen value records that travel through pipelines: candidates, judge items, verdicts, scores, pairs.

Failures are values here: a verdict or score that could not be produced carries ``status != "ok"``, the
raw text and an ``error`` string instead of a made-up winner or number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
from attrs import field, frozen

Winner = Literal["A", "B", "tie"]
WINNERS: tuple[str, ...] = ("A", "B", "tie")


class ParseStatus:
    """Why a verdict or score is (not) usable. Plain strings so records serialise as JSON."""

    OK = "ok"
    UNPARSED = "unparsed"  # the judge's text holds no recognisable verdict / score
    OUT_OF_RANGE = "out_of_range"  # a number was found but lies outside the template's scale
    AMBIGUOUS = "ambiguous"  # contradictory verdict phrases
    BACKEND_ERROR = "backend_error"  # the model call itself failed
    BACKEND_UNAVAILABLE = "backend_unavailable"  # the backend could not be reached at all (server down, timed out)
    MEDIA_ERROR = "media_error"  # an input could not be loaded
    INCONSISTENT = "inconsistent"  # symmetric judging disagreed with itself

    ALL = (OK, UNPARSED, OUT_OF_RANGE, AMBIGUOUS, BACKEND_ERROR, BACKEND_UNAVAILABLE, MEDIA_ERROR, INCONSISTENT)


def failure_status(exc: BaseException) -> str:
    """The status a failed judge call records for ``exc``: a media error, an unreachable backend, or a
    backend error (anything else the model call raised)."""
    from .errors import BackendUnavailableError, MediaError

    if isinstance(exc, MediaError):
        return ParseStatus.MEDIA_ERROR
    if isinstance(exc, BackendUnavailableError):
        return ParseStatus.BACKEND_UNAVAILABLE
    return ParseStatus.BACKEND_ERROR


def _frozen_mapping(value: Mapping | None) -> Mapping:
    return dict(value or {})


@frozen
class Provenance:
    """Where a value came from: which plugin, checkpoint, template and seed produced it."""

    plugin: str | None = None
    checkpoint: str | None = None
    template_id: str | None = None
    seed: int | None = None
    extra: Mapping[str, Any] = field(factory=dict, converter=_frozen_mapping, hash=False)


@frozen
class Media:
    """Decoded, validated content of one file (or text), with a content hash for caching.

    ``data`` is what a model processor takes: a PIL image, a list of video frames, a string...
    ``meta`` records how it was prepared (e.g. the frame-sampling policy and the frame indices used).
    """

    modality: str
    sha256: str
    data: Any = field(eq=False, repr=False)
    path: str | None = None
    meta: Mapping[str, Any] = field(factory=dict, converter=_frozen_mapping, hash=False)


@frozen
class Candidate:
    """One thing to be judged: a response text, or a media file produced by a policy."""

    id: str
    modality: str = "text"
    text: str | None = None
    path: str | None = None
    meta: Mapping[str, Any] = field(factory=dict, converter=_frozen_mapping, hash=False)
    provenance: Provenance = field(factory=Provenance)

    def __attrs_post_init__(self) -> None:
        if self.text is None and self.path is None:
            raise ValueError(f"candidate {self.id!r} needs a text or a path")


@frozen
class JudgeItem:
    """What a head judges: one candidate (pointwise) or two (pairwise, A then B) for a task.

    ``prompt`` is the caption of a generation task; ``question`` and ``context`` (media paths of the
    image or video asked about) belong to understanding tasks.
    """

    id: str
    task: str
    candidates: tuple[Candidate, ...] = field(converter=tuple)
    prompt: str | None = None
    question: str | None = None
    context: tuple[str, ...] = field(default=(), converter=tuple)
    meta: Mapping[str, Any] = field(factory=dict, converter=_frozen_mapping, hash=False)

    @candidates.validator
    def _one_or_two(self, _attribute, value) -> None:
        if len(value) not in (1, 2):
            raise ValueError(f"item {self.id!r}: expected 1 (pointwise) or 2 (pairwise) candidates, got {len(value)}")

    @property
    def mode(self) -> str:
        return "pairwise" if len(self.candidates) == 2 else "pointwise"

    def swapped(self) -> JudgeItem:
        """The same pairwise item with A and B exchanged (for position-bias control)."""
        if self.mode != "pairwise":
            raise ValueError("only pairwise items can be swapped")
        return attrs.evolve(self, candidates=(self.candidates[1], self.candidates[0]))


@frozen
class Verdict:
    """A pairwise judgment: which of A and B is better, or a tie; or a recorded failure."""

    item_id: str
    winner: Winner | None
    status: str = ParseStatus.OK
    raw: str = ""
    # over "A", "B", "tie" when the head knows them; a dict, so kept out of the hash
    probabilities: Mapping[str, float] | None = field(default=None, hash=False)
    dimension_scores: Mapping[str, tuple[float, float]] = field(factory=dict, converter=_frozen_mapping, hash=False)
    error: str | None = None
    consistency: float | None = None  # symmetric heads: agreement of the two orders, in [0, 1]
    provenance: Provenance = field(factory=Provenance)

    def __attrs_post_init__(self) -> None:
        if self.status == ParseStatus.OK and self.winner not in WINNERS:
            raise ValueError(f"an ok verdict needs a winner in {WINNERS}, got {self.winner!r}")
        if self.status != ParseStatus.OK and not self.error:
            raise ValueError("a failed verdict must say why (error)")

    @property
    def ok(self) -> bool:
        return self.status == ParseStatus.OK

    @classmethod
    def failure(cls, item_id: str, status: str, error: str, raw: str = "", **kw: Any) -> Verdict:
        return cls(item_id=item_id, winner=None, status=status, raw=raw, error=error, **kw)


@frozen
class Score:
    """A pointwise judgment: a number on the template's scale, its [0, 1] normalisation, per-axis values."""

    item_id: str
    value: float | None
    scale: tuple[float, float] | None = None
    dimensions: Mapping[str, float] = field(factory=dict, converter=_frozen_mapping, hash=False)
    status: str = ParseStatus.OK
    raw: str = ""
    error: str | None = None
    provenance: Provenance = field(factory=Provenance)

    def __attrs_post_init__(self) -> None:
        if self.status == ParseStatus.OK and self.value is None:
            raise ValueError("an ok score needs a value")
        if self.status != ParseStatus.OK and not self.error:
            raise ValueError("a failed score must say why (error)")

    @property
    def ok(self) -> bool:
        return self.status == ParseStatus.OK

    @property
    def normalized(self) -> float | None:
        """The value mapped linearly onto [0, 1] using the scale, when both are known."""
        if self.value is None or self.scale is None:
            return None
        lo, hi = self.scale
        return (self.value - lo) / (hi - lo) if hi != lo else None

    @classmethod
    def failure(cls, item_id: str, status: str, error: str, raw: str = "", **kw: Any) -> Score:
        return cls(item_id=item_id, value=None, status=status, raw=raw, error=error, **kw)


@frozen
class PreferencePair:
    """A DPO training pair built from one prompt's candidates, with the evidence that chose it."""

    prompt_id: str
    task: str
    chosen: Candidate
    rejected: Candidate
    prompt: str | None = None
    question: str | None = None
    context: tuple[str, ...] = field(default=(), converter=tuple)
    chosen_score: Score | None = None
    rejected_score: Score | None = None
    verdicts: tuple[Verdict, ...] = field(default=(), converter=tuple)
    provenance: Provenance = field(factory=Provenance)


@frozen
class DroppedPrompt:
    """A prompt for which no pair was kept, and why (e.g. 'chosen_not_better', 'all_pairs_failed')."""

    prompt_id: str
    reason: str
    detail: str = ""
    verdicts: tuple[Verdict, ...] = field(default=(), converter=tuple)
    scores: tuple[Score, ...] = field(default=(), converter=tuple)


# --- JSON round trips -------------------------------------------------------------------------------

_RECORD_TYPES: dict[str, type] = {}


def _register(*classes: type) -> None:
    for cls in classes:
        _RECORD_TYPES[cls.__name__] = cls


_register(Provenance, Candidate, JudgeItem, Verdict, Score, PreferencePair, DroppedPrompt)


def to_dict(record: Any) -> Any:
    """A JSON-ready dict of a record, tagged with its type so :func:`from_dict` can rebuild it."""
    if attrs.has(type(record)):
        out: dict[str, Any] = {"__type__": type(record).__name__}
        for a in attrs.fields(type(record)):
            out[a.name] = to_dict(getattr(record, a.name))
        return out
    if isinstance(record, (list, tuple)):
        return [to_dict(v) for v in record]
    if isinstance(record, Mapping):
        return {k: to_dict(v) for k, v in record.items()}
    return record


def from_dict(data: Any) -> Any:
    """Inverse of :func:`to_dict`."""
    if isinstance(data, Mapping):
        tag = data.get("__type__")
        values = {k: from_dict(v) for k, v in data.items() if k != "__type__"}
        if tag is None:
            return values
        cls = _RECORD_TYPES[tag]
        for a in attrs.fields(cls):
            # tuples were written as lists; (lo, hi) scales and per-axis pairs come back as tuples
            if a.name in values and isinstance(values[a.name], list):
                values[a.name] = tuple(values[a.name])
        if cls is Verdict and values.get("dimension_scores"):
            values["dimension_scores"] = {k: tuple(v) for k, v in values["dimension_scores"].items()}
        return cls(**values)
    if isinstance(data, list):
        return [from_dict(v) for v in data]
    return data
