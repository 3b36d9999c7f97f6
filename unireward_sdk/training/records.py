"""Judge-training records: read the agreed record format from JSONL, Parquet, a ``datasets.Dataset`` or dicts.

One record per line (see ``docs/training.md``)::

    {"task": "image_generation", "mode": "pairwise", "prompt": "a red circle",
     "candidates": [{"path": "a.png"}, {"path": "b.png"}], "label": "A"}
    {"task": "image_understanding", "mode": "pointwise", "question": "What colour?", "context": ["q.png"],
     "candidates": [{"text": "Red."}], "score": 80, "scale": [0, 100]}

Media paths are relative to the data file's folder (or ``base_dir``). Optional keys: ``template`` (a
template id), ``dimensions`` (per-axis values), ``id``, a candidate's ``note`` and the record's
``reasoning`` (text the judge writes before its answer, see :mod:`.targets`); any other key (``truth``, ``quality``...) is
carried along in :attr:`TrainingRecord.extra` and ignored by training. A record that breaks the format
raises :class:`~unireward_sdk.errors.ConfigError` naming its file and line: nothing is guessed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from attrs import field, frozen

from .. import ingest
from ..errors import ConfigError
from ..records import Candidate, JudgeItem

MODES: tuple[str, ...] = ("pairwise", "pointwise")
PAIRWISE_LABELS: tuple[str, ...] = ("A", "B", "tie")
MIRROR: dict[str, str] = {"A": "B", "B": "A", "tie": "tie"}
KNOWN_KEYS: frozenset[str] = frozenset({
    "id", "task", "mode", "prompt", "question", "context", "candidates", "label", "score", "scale",
    "dimensions", "template",
})


@frozen
class TrainingRecord:
    """One validated training record. ``candidates`` are ``{"path": absolute path, "modality": ...}`` or
    ``{"text": ...}`` (the modality is what the registry's modality plugins say, see :mod:`unireward_sdk.ingest`;
    :func:`record_to_dict` leaves it out)."""

    id: str
    task: str
    mode: str
    candidates: tuple[Mapping[str, str], ...] = field(converter=tuple)
    prompt: str | None = None
    question: str | None = None
    context: tuple[str, ...] = field(default=(), converter=tuple)
    label: str | None = None
    score: float | None = None
    scale: tuple[float, float] | None = None
    dimensions: Mapping[str, Any] = field(factory=dict, converter=dict, hash=False)
    template: str | None = None
    extra: Mapping[str, Any] = field(factory=dict, converter=dict, hash=False)
    source: str = ""

    @property
    def truth(self) -> str | None:
        """The pairwise answer to evaluate against: the testbed's ``truth`` when present, else the label."""
        value = self.extra.get("truth")
        if self.mode == "pairwise" and value in PAIRWISE_LABELS:
            return value
        return self.label

    @property
    def truth_score(self) -> float | None:
        """The pointwise value to evaluate against: ``truth`` when it is a number, else the score."""
        value = self.extra.get("truth")
        if self.mode == "pointwise" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return self.score

    def item(self, item_id: str | None = None) -> JudgeItem:
        """The record as a :class:`~unireward_sdk.records.JudgeItem` (A then B as written)."""
        candidates = []
        for i, c in enumerate(self.candidates):
            cid = "AB"[i] if self.mode == "pairwise" else "A"
            if "text" in c:
                candidates.append(Candidate(id=cid, modality="text", text=c["text"]))
            else:
                modality = c.get("modality") or ingest.modality_of(c["path"], where=self.source or self.id)
                candidates.append(Candidate(id=cid, modality=modality, path=c["path"]))
        return JudgeItem(id=item_id or self.id, task=self.task, candidates=candidates, prompt=self.prompt,
                         question=self.question, context=self.context)

    def swapped(self) -> TrainingRecord:
        """The same pairwise record with A and B exchanged: candidates, label, truth and per-axis shares."""
        if self.mode != "pairwise":
            raise ValueError("only pairwise records can be swapped")
        extra = dict(self.extra)
        if extra.get("truth") in PAIRWISE_LABELS:
            extra["truth"] = MIRROR[extra["truth"]]
        if isinstance(extra.get("quality"), list) and len(extra["quality"]) == 2:
            extra["quality"] = list(reversed(extra["quality"]))
        dims = {k: _swap_share(v) for k, v in self.dimensions.items()}
        return attrs.evolve(self, candidates=tuple(reversed(self.candidates)),
                            label=MIRROR[self.label] if self.label else None, dimensions=dims, extra=extra)


def _swap_share(value: Any) -> Any:
    """Per-axis pairwise shares: ``[s1, s2]`` -> ``[s2, s1]``; a single share of image 1 -> ``1 - s``."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return [value[1], value[0]]
    if isinstance(value, (int, float)):
        return 1.0 - float(value)
    return value


# --- validation --------------------------------------------------------------------------------------


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"'{name}' must be a number, got {value!r}", who=where,
                          fix=f"Write '{name}' as a plain number, e.g. 4 or 0.5")
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"'{name}' must be a number, got {value!r}", who=where,
                          fix=f"Write '{name}' as a plain number, e.g. 4 or 0.5") from None
    if not math.isfinite(number):
        raise ConfigError(f"'{name}' must be finite, got {value!r}", who=where,
                          fix=f"Replace '{name}' with a finite number (not NaN or infinity)")
    return number


def record_from_dict(row: Mapping[str, Any], *, base_dir: str | Path | None = None, where: str = "record",
                     index: int = 0, registry: Any = None, allow_outside: bool = True) -> TrainingRecord:
    """Validate one row of the agreed format (see the module docstring) into a :class:`TrainingRecord`.

    Media paths follow :class:`~unireward_sdk.ingest.PathPolicy` with ``base_dir`` as the base folder
    (none: kept as written); records may name files outside it (exports write absolute paths) unless
    ``allow_outside=False``. A file's modality comes from ``registry`` (default: the process registry)."""
    if not isinstance(row, Mapping):
        raise ConfigError(f"a record must be a JSON object, got {type(row).__name__}", who=where,
                          fix='Write each record as an object such as {"task": ..., "candidates": [...], "label": ...} '
                              "(see docs/training.md)")
    policy = ingest.PathPolicy(base_dir, allow_outside=allow_outside)
    task = row.get("task")
    if not isinstance(task, str) or not task:
        raise ConfigError("'task' is missing", who=where,
                          fix="Set task to image_generation, video_generation, image_understanding or video_understanding")
    raw_candidates = row.get("candidates")
    if not isinstance(raw_candidates, Sequence) or isinstance(raw_candidates, str) or not raw_candidates:
        raise ConfigError("'candidates' must be a list of {\"path\": ...} or {\"text\": ...}", who=where,
                          fix="Give two candidates for a pairwise record or one for a pointwise record")
    mode = row.get("mode") or ("pairwise" if len(raw_candidates) == 2 else "pointwise")
    if mode not in MODES:
        raise ConfigError(f"'mode' must be pairwise or pointwise, got {mode!r}", who=where,
                          fix="Set mode to pairwise or pointwise, or leave it out (2 candidates mean pairwise)")
    wanted = 2 if mode == "pairwise" else 1
    if len(raw_candidates) != wanted:
        raise ConfigError(f"a {mode} record needs {wanted} candidate(s), got {len(raw_candidates)}", who=where,
                          fix=f"Give exactly {wanted} candidate(s) or set 'mode' to match the candidates")
    candidates = []
    for i, c in enumerate(raw_candidates):
        if isinstance(c, str):  # a bare string: a path when a media modality claims its suffix, else a text
            c = {"path": c} if ingest.claims(c, registry) else {"text": c}
        if not isinstance(c, Mapping) or ("path" in c) == ("text" in c):
            raise ConfigError(f"candidate {i} must hold exactly one of 'path' or 'text', got {c!r}", who=where,
                              fix='Write the candidate as {"path": "a.png"} or {"text": "..."}, not both')
        if "path" in c:
            path, modality = ingest.media_file(c["path"], task=task, policy=policy, registry=registry, where=where,
                                               name=f"candidate {i} path")
            candidate = {"path": path, "modality": modality}
        else:
            if not isinstance(c["text"], str):
                raise ConfigError(f"candidate {i} text must be a string", who=where,
                                  fix="Put the response as a string in 'text', or use 'path' for a media file")
            candidate = {"text": c["text"]}
        if c.get("note") is not None:  # the judge's reasoning about this candidate, written before the answer
            if not isinstance(c["note"], str):
                raise ConfigError(f"candidate {i} note must be a string, got {c['note']!r}", who=where,
                                  fix="Write the note as plain text, or leave it out")
            candidate["note"] = c["note"]
        candidates.append(candidate)
    context = ingest.context_paths(row.get("context") or None, task=task, policy=policy, registry=registry,
                                   where=where)

    label = score = scale = None
    if mode == "pairwise":
        label = row.get("label")
        if label not in PAIRWISE_LABELS:
            raise ConfigError(f"a pairwise record needs 'label' A, B or tie, got {label!r}", who=where,
                              fix='Set label to "A" (first candidate better), "B" (second better) or "tie"')
    else:
        if "score" not in row or row["score"] is None:
            raise ConfigError("a pointwise record needs 'score'", who=where,
                              fix="Add 'score' (a number, with an optional 'scale': [lo, hi]) or give two candidates "
                                  "and a 'label' for a pairwise record")
        score = _number(row["score"], "score", where)
        if row.get("scale") is not None:
            lo_hi = row["scale"]
            if not isinstance(lo_hi, Sequence) or isinstance(lo_hi, str) or len(lo_hi) != 2:
                raise ConfigError(f"'scale' must be [lo, hi], got {lo_hi!r}", who=where,
                                  fix="Write scale as a two-number list, e.g. [1, 5] or [0, 100]")
            scale = (_number(lo_hi[0], "scale", where), _number(lo_hi[1], "scale", where))
            if not scale[0] < scale[1]:
                raise ConfigError(f"'scale' must have lo < hi, got {list(scale)}", who=where,
                                  fix="Put the lower bound first, e.g. [1, 5]")
            if not scale[0] <= score <= scale[1]:
                raise ConfigError(f"score {score:g} lies outside its scale {list(scale)}", who=where,
                                  fix="Correct the score or widen 'scale' so that it includes the score")
    dimensions = row.get("dimensions") or {}
    if not isinstance(dimensions, Mapping):
        raise ConfigError(f"'dimensions' must be an object {{axis: value}}, got {dimensions!r}", who=where,
                          fix='Write dimensions as an object keyed by axis name, e.g. {"alignment": 4}')
    template = row.get("template")
    if template is not None and not isinstance(template, str):
        raise ConfigError(f"'template' must be a template id string, got {template!r}", who=where,
                          fix="Set template to one of the ids that `unireward templates` lists, or leave it out")
    for key in ("prompt", "question"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise ConfigError(f"'{key}' must be a string", who=where,
                              fix=f"Give '{key}' as plain text, or leave it out")
    extra = {k: v for k, v in row.items() if k not in KNOWN_KEYS}
    record_id = str(row.get("id") if row.get("id") not in (None, "") else f"{task}-{index:06d}")
    return TrainingRecord(
        id=record_id, task=task, mode=mode, candidates=candidates, prompt=row.get("prompt"),
        question=row.get("question"), context=context, label=label, score=score, scale=scale,
        dimensions=dict(dimensions), template=template, extra=extra, source=where,
    )


# --- sources -------------------------------------------------------------------------------------------


def _rows_from_file(path: Path) -> Iterable[tuple[str, Mapping[str, Any]]]:
    if path.suffix.lower() not in (".jsonl", ".ndjson", ".json", ".parquet"):
        raise ConfigError(f"unsupported record file type '{path.suffix.lower()}'", who=str(path),
                          fix="Use .jsonl, .json or .parquet (or pass a datasets.Dataset)")
    parquet = path.suffix.lower() == ".parquet"
    for row in ingest.read_rows(path):
        yield row.where, (_drop_nulls(row.data) if parquet and isinstance(row.data, Mapping) else row.data)


def _drop_nulls(row: Mapping[str, Any]) -> dict[str, Any]:
    # Parquet gives every column to every row: a pairwise row has score=None, a pointwise row label=None
    return {k: v for k, v in row.items() if v is not None}


def load_records(source: Any, *, base_dir: str | Path | None = None, registry: Any = None,
                 allow_outside: bool = True) -> list[TrainingRecord]:
    """Records from a file path (.jsonl / .json / .parquet), a list of paths, a ``datasets.Dataset`` or dicts.

    Relative media paths resolve against the file's folder, or ``base_dir`` for in-memory sources
    (default: the current directory). Records already validated pass through unchanged.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ConfigError("no such record file", who=str(path), fix="Check the path in your config")
        base = Path(base_dir) if base_dir is not None else path.parent
        return [record_from_dict(row, base_dir=base, where=where, index=i, registry=registry,
                                 allow_outside=allow_outside)
                for i, (where, row) in enumerate(_rows_from_file(path))]
    if isinstance(source, TrainingRecord):
        return [source]
    rows: Iterable[Any]
    if hasattr(source, "column_names") and hasattr(source, "to_list"):  # a datasets.Dataset
        rows = (_drop_nulls(r) for r in source.to_list())
        origin = "dataset"
    else:
        rows = source
        origin = "records"
    out: list[TrainingRecord] = []
    for i, row in enumerate(rows):
        if isinstance(row, TrainingRecord):
            out.append(row)
        elif isinstance(row, (str, Path)):
            out.extend(load_records(row, base_dir=base_dir, registry=registry, allow_outside=allow_outside))
        else:
            out.append(record_from_dict(row, base_dir=base_dir, where=f"{origin}[{i}]", index=i, registry=registry,
                                        allow_outside=allow_outside))
    return out


def record_to_dict(record: TrainingRecord) -> dict[str, Any]:
    """A JSON-ready row of the agreed format (absolute media paths); inverse of :func:`record_from_dict`."""
    row: dict[str, Any] = {"id": record.id, "task": record.task, "mode": record.mode,
                           # the modality is derived from the file, not part of the format
                           "candidates": [{k: v for k, v in c.items() if k != "modality"}
                                          for c in record.candidates]}
    for key in ("prompt", "question", "label", "score", "template"):
        if getattr(record, key) is not None:
            row[key] = getattr(record, key)
    if record.context:
        row["context"] = list(record.context)
    if record.scale is not None:
        row["scale"] = list(record.scale)
    if record.dimensions:
        row["dimensions"] = dict(record.dimensions)
    row.update(record.extra)
    return row


def tasks_in(records: Iterable[TrainingRecord], order: Sequence[str] = ()) -> list[str]:
    """The tasks the records cover: those in ``order`` first (in that order), then others as first seen."""
    seen = list(dict.fromkeys(r.task for r in records))
    return [t for t in order if t in seen] + [t for t in seen if t not in order]
