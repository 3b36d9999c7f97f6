"""Where a pair job's prompts and candidates come from: a JSONL manifest (or a ``datasets.Dataset``), or a
policy sampler supplied by an Aligner.

A manifest line is one prompt:

    {"id": "cat", "prompt": "a red cat", "candidates": ["imgs/cat_0.png", "imgs/cat_1.png", ...]}
    {"id": "q7", "question": "What colour is the car?", "context": ["imgs/q7.png"],
     "responses": ["It is red.", "Blue.", ...]}

``candidates`` holds media paths (relative to the manifest's folder) or objects ``{"path": ...}`` /
``{"text": ...}`` with an optional ``id`` and ``meta``; ``responses`` holds response texts. A bare string in
``candidates`` is a path when a modality plugin declares its suffix, a text when the task takes texts, and
refused otherwise (:func:`unireward_sdk.ingest.bare_key`). A line without
candidates is a prompt for a sampler to answer. Paths may not leave the manifest's folder unless allowed.

Batches are fixed slices of the prompt list (batch ``b`` holds prompts ``b*size .. (b+1)*size-1``), so a
resumed or sharded job sees exactly the batches an uninterrupted one would, and a sampler is seeded per batch.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import field, frozen

from .. import ingest
from ..errors import ConfigError, InputErrors, UniRewardError, raise_all
from ..interfaces import CandidateGroup
from ..records import Candidate, Provenance

def guess_modality(path: str, registry: Any = None) -> str:
    """The modality of a media file, from the registry's modality plugins (default: the process registry)."""
    return ingest.modality_of(path, registry)


@frozen
class PromptRecord:
    """One prompt of a job, at its fixed position ``index``; ``candidates`` empty when a sampler fills them."""

    index: int
    prompt_id: str
    task: str
    prompt: str | None = None
    question: str | None = None
    context: tuple[str, ...] = field(default=(), converter=tuple)
    candidates: tuple[Candidate, ...] = field(default=(), converter=tuple)
    meta: Mapping[str, Any] = field(factory=dict, converter=dict, hash=False)

    def group(self, candidates: Sequence[Candidate] | None = None) -> CandidateGroup:
        return CandidateGroup(
            prompt_id=self.prompt_id, task=self.task,
            candidates=self.candidates if candidates is None else tuple(candidates),
            prompt=self.prompt, question=self.question, context=self.context,
            meta={"index": self.index},
        )


def batch_ranges(total: int, batch_size: int) -> list[range]:
    """The fixed batches of a job: batch b covers prompt indices [b*size, min((b+1)*size, total))."""
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}", who="pair job",
                          fix="Set batch_size to 1 or more (default 8)")
    return [range(start, min(start + batch_size, total)) for start in range(0, total, batch_size)]


def derive_seed(seed: int, batch_index: int) -> int:
    """A per-batch seed that depends only on the job seed and the batch's position."""
    digest = hashlib.sha256(f"unireward-pairs:{seed}:{batch_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class _Rows:
    """Turns manifest rows into PromptRecords through :mod:`unireward_sdk.ingest` (paths, modalities)."""

    def __init__(self, base: Path, task: str, allow_outside: bool, registry: Any):
        self.task = task
        self.registry = registry
        self.policy = ingest.PathPolicy(base, allow_outside=allow_outside, must_exist=True,
                                        base_label="the manifest's folder", allow_hint="set allow_outside = true",
                                        missing_fix="Correct the path (relative paths start at the manifest's "
                                                    "folder) or remove it from the line")

    def record(self, row: Any, index: int, where: str) -> PromptRecord:
        # a manifest line is a canonical row, with 'responses' as another name for text candidates; a bare
        # string in 'candidates' reads by the ingestion rule (a media path by its suffix, else a text where the
        # task takes texts), as in every other data format
        bare = "auto"
        if isinstance(row, Mapping):
            task = row.get("task", self.task)
            if task != self.task:
                raise ConfigError(f"task '{task}' differs from the job's task '{self.task}'", who=where,
                                  fix="Run one job per task")
            if "candidates" in row and "responses" in row:
                raise ConfigError("give 'candidates' or 'responses', not both", who=where,
                                  fix="Keep one: 'candidates' for media paths or objects, 'responses' for response "
                                      "texts")
            if row.get("prompt") is None and row.get("question") is None:
                raise ConfigError("a prompt needs 'prompt' (a caption) or 'question'", who=where,
                                  fix="Add 'prompt' for a generation task or 'question' for an understanding task")
            if "responses" in row:
                bare = "text"
                row = {**{k: v for k, v in row.items() if k != "responses"}, "candidates": row["responses"]}
        try:
            item = ingest.read_item(row, where=where, index=index, task=self.task, policy=self.policy,
                                    registry=self.registry, bare=bare, provenance=Provenance(plugin="manifest"))
        except UniRewardError as first:
            # the reader stops at a line's first bad file: look at each file on its own to name them all
            found = self.file_problems(row, where, bare) if isinstance(row, Mapping) else []
            raise_all(found or [first], who=where)
        return PromptRecord(index=index, prompt_id=item.id, task=item.task, prompt=item.prompt,
                            question=item.question, context=item.context, candidates=item.candidates,
                            meta=dict(item.meta))


    def records(self, rows: Iterable[ingest.Row], problems: list[UniRewardError] | None = None) -> list[PromptRecord]:
        """Every row read; the problems of every row (and those the reader found) raised together at the end."""
        problems = problems if problems is not None else []
        out = []
        for row in rows:
            try:
                out.append(self.record(row.data, row.index, row.where))
            except InputErrors as exc:
                problems.extend(exc.problems)
            except UniRewardError as exc:
                problems.append(exc)
        raise_all(problems, fix="Fix every line listed, then run again")
        return out

    def file_problems(self, row: Mapping[str, Any], where: str, bare: str) -> list[UniRewardError]:
        """The error of every candidate and context file of a line, each checked alone."""
        found: list[UniRewardError] = []
        candidates = row.get("candidates") or ()
        for k, value in enumerate((candidates,) if isinstance(candidates, (str, Mapping)) else candidates):
            try:
                ingest.candidate(value, cid=str(k), task=self.task, policy=self.policy, registry=self.registry,
                                 where=where, bare=bare)
            except UniRewardError as exc:
                found.append(exc)
        context = row.get("context") or ()
        for value in (context,) if isinstance(context, (str, Path)) else context:
            try:
                ingest.media_file(value, task=self.task, policy=self.policy, registry=self.registry, where=where,
                                  name="context path")
            except UniRewardError as exc:
                found.append(exc)
        return found


class ManifestSource:
    """Prompts (and, usually, their candidates) from a JSONL manifest or from rows / a ``datasets.Dataset``."""

    def __init__(self, records: Sequence[PromptRecord], fingerprint: str, where: str = "manifest"):
        ids = [r.prompt_id for r in records]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise ConfigError(f"prompt ids repeat: {', '.join(dupes)}", who=where, fix="Give every line a unique 'id'")
        self.records = list(records)
        self.fingerprint = fingerprint
        self.where = where

    @classmethod
    def from_jsonl(cls, path: str | Path, task: str, *, allow_outside: bool = False, registry: Any = None) -> ManifestSource:
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError("manifest not found", who=str(path),
                              fix="Check 'manifest' in the job config (relative paths start at the config's folder)"
                              ) from None
        parser = _Rows(path.parent, task, allow_outside, registry)
        problems: list[UniRewardError] = []
        records = parser.records(ingest.jsonl_rows(path, problems=problems), problems)
        return cls(records, hashlib.sha256(data).hexdigest(), str(path))

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], task: str, *, base_dir: str | Path = ".",
                  allow_outside: bool = False, registry: Any = None) -> ManifestSource:
        """Rows with the manifest's keys, e.g. a ``datasets.Dataset`` (``prompt``, ``candidates``, ...)."""
        rows = [dict(r) for r in rows]
        parser = _Rows(Path(base_dir), task, allow_outside, registry)
        records = parser.records(ingest.read_rows(rows))
        blob = json.dumps(rows, sort_keys=True, default=str).encode()
        return cls(records, hashlib.sha256(blob).hexdigest(), "rows")

    @classmethod
    def from_dataset(cls, dataset: Any, task: str, **kw: Any) -> ManifestSource:
        """A ``datasets.Dataset`` in: each row uses the manifest's keys."""
        return cls.from_rows(iter(dataset), task, **kw)

    def __len__(self) -> int:
        return len(self.records)

    def groups(self, indices: range, batch_index: int) -> list[CandidateGroup]:
        return [self.records[i].group() for i in indices]


class SamplerSource:
    """Prompts whose candidates a policy produces: ``sampler.sample(prompts, n, seed=...)``.

    ``sampler`` is an Aligner (or any object with that method) and returns, per prompt, a list of ``n``
    :class:`Candidate`. Generation prompts are passed as their caption, understanding prompts as their
    question; a sampler whose ``sample`` accepts ``contexts=`` also gets each prompt's context media paths.
    Each batch is sampled with :func:`derive_seed` (job seed, batch index), so a resumed or sharded job
    draws exactly the candidates an uninterrupted one would.
    """

    def __init__(self, sampler: Any, prompts: Sequence[PromptRecord], n: int = 10, seed: int = 0,
                 fingerprint: str = ""):
        if not callable(getattr(sampler, "sample", None)):
            raise ConfigError(f"{type(sampler).__name__} has no sample(prompts, n, seed=...) method",
                              who="sampler source", fix="Pass an Aligner (e.g. registry.aligner('vlm_dpo', ...))")
        if n < 2:
            raise ConfigError(f"n must be >= 2 candidates per prompt, got {n}", who="sampler source",
                              fix="Set n to 2 or more (default 10)")
        self.sampler = sampler
        self.records = list(prompts)
        self.n = n
        self.seed = seed
        self.fingerprint = fingerprint or hashlib.sha256(
            json.dumps([(r.prompt_id, r.prompt, r.question, list(r.context)) for r in self.records]).encode()
        ).hexdigest()
        try:
            self._contexts = "contexts" in inspect.signature(sampler.sample).parameters
        except (TypeError, ValueError):
            self._contexts = False

    def __len__(self) -> int:
        return len(self.records)

    def groups(self, indices: range, batch_index: int) -> list[CandidateGroup]:
        records = [self.records[i] for i in indices]
        texts = [r.prompt if r.prompt is not None else r.question for r in records]
        kwargs: dict[str, Any] = {"seed": derive_seed(self.seed, batch_index)}
        if self._contexts:
            kwargs["contexts"] = [list(r.context) for r in records]
        samples = self.sampler.sample(texts, self.n, **kwargs)
        who = getattr(self.sampler, "name", type(self.sampler).__name__)
        if len(samples) != len(records):
            raise ConfigError(f"sample() returned {len(samples)} lists for {len(records)} prompts",
                              who=f"sampler '{who}'",
                              fix="Make sample() return one list of candidates per prompt, in the prompts' order")
        groups = []
        for record, cands in zip(records, samples):
            cands = list(cands)
            if len(cands) != self.n:
                raise ConfigError(f"sample() returned {len(cands)} candidates for prompt '{record.prompt_id}', "
                                  f"expected {self.n}", who=f"sampler '{who}'",
                                  fix=f"Make sample() return exactly n={self.n} candidates for every prompt")
            # ids unique within the prompt whatever the sampler named them
            cands = [c if c.id.startswith(f"{record.prompt_id}/") else
                     _renamed(c, f"{record.prompt_id}/{k}") for k, c in enumerate(cands)]
            groups.append(record.group(cands))
        return groups


def _renamed(candidate: Candidate, new_id: str) -> Candidate:
    import attrs

    return attrs.evolve(candidate, id=new_id, meta={**candidate.meta, "sampler_id": candidate.id})


def prompts_only(source: ManifestSource) -> list[PromptRecord]:
    """The prompts of a manifest without candidates (for a sampler)."""
    import attrs

    return [attrs.evolve(r, candidates=()) for r in source.records]
