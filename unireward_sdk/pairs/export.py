"""Exports of a pair dataset as ``datasets.Dataset`` rows that the training libraries read as they are.

- ``trl`` (image / video understanding): ``images`` (list of images), ``prompt``, ``chosen``, ``rejected`` as
  conversational messages with string content — what trl's ``DPOTrainer`` takes for vision-language models
  (trl puts the image placeholders before the user text). Rows whose context is a video carry a ``videos``
  column (list of file paths) instead of ``images``: trl has no video DPO, the ``vlm_dpo`` aligner reads it.
  Text-only prompts (no context) give rows without an ``images`` column.
- ``pickapic`` (image generation): ``caption``, ``jpg_0``, ``jpg_1`` (the image files' bytes), ``label_0``
  (1.0 when ``jpg_0`` is the chosen image) — the Pick-a-Pic layout that diffusers' Diffusion-DPO example reads.
  Ties never appear: point sifting keeps only strictly better pairs.
- ``videodpo`` (video generation): ``caption``, ``chosen``, ``rejected`` (absolute video file paths).
- ``records``: one flat row per pair with scores and provenance, for analysis.

Every format adds ``prompt_id``, ``chosen_score`` and ``rejected_score`` (and ``score_0`` / ``score_1`` for
pickapic); consumers ignore extra columns. Media paths in every export are absolute.

A format is checked against the dataset's candidates first (pickapic needs image candidates, videodpo video
ones, trl response texts), from every stored prompt, kept or dropped. A dataset with no kept pairs exports as
an empty dataset with the format's columns, and an :class:`EmptyExportWarning`.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UniRewardError, require
from .store import PairDataset

FORMATS = ("trl", "pickapic", "videodpo", "records")
# what an export may be written as: a file of these suffixes, or a datasets folder (no suffix)
FILE_SUFFIXES = (".jsonl", ".json", ".parquet")


class EmptyExportWarning(UserWarning):
    """A pair dataset with no kept pairs was exported: the result has the format's columns and no rows."""


def _datasets():
    return require("datasets", extra="train", purpose="exporting pairs as a datasets.Dataset")


def _open(source: Any) -> PairDataset:
    return source if isinstance(source, PairDataset) else PairDataset(source)


def _score(score: Any) -> float | None:
    return None if score is None or score.value is None else float(score.value)


def _table(rows: list[dict[str, Any]], features: dict[str, Any], ds: PairDataset, fmt: str) -> Any:
    """The rows as a ``datasets.Dataset`` of ``features``; no rows give an empty one with those columns."""
    datasets = _datasets()
    features = datasets.Features(features)
    if rows:
        return datasets.Dataset.from_list(rows, features=features)
    summary = ds.summary()
    dropped = ", ".join(f"{reason} {count}" for reason, count in summary["dropped"].items())
    warnings.warn(EmptyExportWarning(
        f"{ds.root} holds no kept pairs ({summary['prompts_seen']} prompts seen"
        + (f"; dropped: {dropped}" if dropped else "") + f"): the {fmt} export has its columns and no rows"),
        stacklevel=3)
    return datasets.Dataset.from_dict({name: [] for name in features}, features=features)


def _candidate_modalities(ds: PairDataset) -> set[str]:
    """The modalities of every stored prompt's candidates, kept or dropped (what the task produced)."""
    return {c.get("modality") or "text" for row in ds.rows() for c in row.get("candidates") or ()}


def _check_task(ds: PairDataset, wanted: str, fmt: str, fix: str) -> None:
    """Refuse a format whose candidates the dataset's task does not produce, before any pair is read."""
    found = _candidate_modalities(ds)
    if found and found != {wanted}:
        task = ds.meta.get("task", "?")
        raise ConfigError(f"task '{task}' gives {' and '.join(sorted(found))} candidates; the {fmt} format needs "
                          f"{wanted} candidates", who=f"{fmt} export ({ds.root})", fix=fix)


def _context_kind(ds: PairDataset) -> str:
    """image, video or text: what the prompts of an understanding dataset show, from its task's modalities."""
    from ..registry import get_registry

    try:
        modalities = get_registry().task_spec(str(ds.meta.get("task"))).modalities
    except UniRewardError:  # a task whose plugin is not installed here: no media column
        return "text"
    return "video" if "video" in modalities else "image" if "image" in modalities else "text"


def _need(pair: Any, modality: str, fmt: str, fix: str) -> None:
    for side in (pair.chosen, pair.rejected):
        if side.modality != modality or side.path is None:
            raise ConfigError(f"prompt '{pair.prompt_id}': the {fmt} format needs {modality} candidates, "
                              f"got a {side.modality} candidate", who=f"{fmt} export", fix=fix)


def _bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def to_trl(source: Any) -> Any:
    """trl vision DPO rows (see the module docstring)."""
    datasets = _datasets()
    ds = _open(source)
    _check_task(ds, "text", "trl", "Use --format pickapic (images) or videodpo (videos) for generation tasks")
    rows, kinds = [], set()
    for pair in ds.pairs():
        for side in (pair.chosen, pair.rejected):
            if side.text is None:
                raise ConfigError(f"prompt '{pair.prompt_id}': trl DPO needs response texts, got a {side.modality} "
                                  "candidate", who="trl export",
                                  fix="Use --format pickapic (images) or videodpo (videos) for generation tasks")
        question = pair.question if pair.question is not None else pair.prompt
        row: dict[str, Any] = {
            "prompt": [{"role": "user", "content": question}],
            "chosen": [{"role": "assistant", "content": pair.chosen.text}],
            "rejected": [{"role": "assistant", "content": pair.rejected.text}],
            "prompt_id": pair.prompt_id,
            "chosen_score": _score(pair.chosen_score),
            "rejected_score": _score(pair.rejected_score),
        }
        from .sources import guess_modality

        modalities = {guess_modality(p) for p in pair.context}
        if modalities - {"image", "video"}:
            raise ConfigError(f"prompt '{pair.prompt_id}': context of modality {sorted(modalities)}", who="trl export",
                              fix="Give the prompts image or video context files (or none) for a trl export")
        if "video" in modalities:
            row["videos"] = list(pair.context)
            kinds.add("video")
        elif pair.context:
            row["images"] = [{"bytes": _bytes(p), "path": None} for p in pair.context]
            kinds.add("image")
        else:
            kinds.add("text")
        rows.append(row)
    if len(kinds) > 1:
        raise ConfigError(f"the pairs mix {sorted(kinds)} prompts; trl needs one kind per dataset", who="trl export",
                          fix="Build one pair dataset per task")
    if not rows:  # the columns the task's rows would have had
        kinds = {_context_kind(ds)}
    message = [{"role": datasets.Value("string"), "content": datasets.Value("string")}]
    features = {"prompt": message, "chosen": message, "rejected": message, "prompt_id": datasets.Value("string"),
                "chosen_score": datasets.Value("float64"), "rejected_score": datasets.Value("float64")}
    if "image" in kinds:
        features["images"] = datasets.Sequence(datasets.Image())
    if "video" in kinds:
        features["videos"] = datasets.Sequence(datasets.Value("string"))
    return _table(rows, features, ds, "trl")


def to_pickapic(source: Any, *, shuffle_seed: int | None = None) -> Any:
    """Pick-a-Pic / Diffusion-DPO rows. ``shuffle_seed`` puts the chosen image first or second at random."""
    datasets = _datasets()
    ds = _open(source)
    _check_task(ds, "image", "pickapic", "Use --format trl for understanding tasks, videodpo for videos")
    rng = random.Random(shuffle_seed) if shuffle_seed is not None else None
    rows = []
    for pair in ds.pairs():
        _need(pair, "image", "pickapic", "Use --format trl for understanding tasks, videodpo for videos")
        chosen_first = True if rng is None else rng.random() < 0.5
        first, second = (pair.chosen, pair.rejected) if chosen_first else (pair.rejected, pair.chosen)
        s_first, s_second = ((pair.chosen_score, pair.rejected_score) if chosen_first
                             else (pair.rejected_score, pair.chosen_score))
        rows.append({
            "caption": pair.prompt or "",
            "jpg_0": _bytes(first.path),
            "jpg_1": _bytes(second.path),
            "label_0": 1.0 if chosen_first else 0.0,
            "prompt_id": pair.prompt_id,
            "score_0": _score(s_first),
            "score_1": _score(s_second),
        })
    features = {"caption": datasets.Value("string"), "jpg_0": datasets.Value("binary"),
                "jpg_1": datasets.Value("binary"), "label_0": datasets.Value("float64"),
                "prompt_id": datasets.Value("string"), "score_0": datasets.Value("float64"),
                "score_1": datasets.Value("float64")}
    return _table(rows, features, ds, "pickapic")


def to_videodpo(source: Any) -> Any:
    """VideoDPO rows: caption and the chosen / rejected video paths."""
    datasets = _datasets()
    ds = _open(source)
    _check_task(ds, "video", "videodpo", "Use --format pickapic for images, trl for understanding tasks")
    rows = []
    for pair in ds.pairs():
        _need(pair, "video", "videodpo", "Use --format pickapic for images, trl for understanding tasks")
        rows.append({"caption": pair.prompt or "", "chosen": str(Path(pair.chosen.path).resolve()),
                     "rejected": str(Path(pair.rejected.path).resolve()), "prompt_id": pair.prompt_id,
                     "chosen_score": _score(pair.chosen_score), "rejected_score": _score(pair.rejected_score)})
    features = {k: datasets.Value("float64" if k.endswith("score") else "string")
                for k in ("caption", "chosen", "rejected", "prompt_id", "chosen_score", "rejected_score")}
    return _table(rows, features, ds, "videodpo")


def to_records(source: Any) -> Any:
    """One flat row per pair: what was compared (media paths absolute, texts as they are), the scores, and where
    the judgment came from."""
    datasets = _datasets()
    ds = _open(source)
    rows = []
    for pair in ds.pairs():
        rows.append({
            "prompt_id": pair.prompt_id, "task": pair.task, "prompt": pair.prompt, "question": pair.question,
            "context": list(pair.context),
            "chosen": pair.chosen.path or pair.chosen.text, "rejected": pair.rejected.path or pair.rejected.text,
            "chosen_score": _score(pair.chosen_score), "rejected_score": _score(pair.rejected_score),
            "checkpoint": pair.provenance.checkpoint, "pointwise_template": pair.provenance.template_id,
            "pairwise_templates": list(pair.provenance.extra.get("pairwise_templates", [])),
            "seed": pair.provenance.seed,
        })
    text, paths = datasets.Value("string"), datasets.Sequence(datasets.Value("string"))
    features = {"prompt_id": text, "task": text, "prompt": text, "question": text, "context": paths,
                "chosen": text, "rejected": text, "chosen_score": datasets.Value("float64"),
                "rejected_score": datasets.Value("float64"), "checkpoint": text, "pointwise_template": text,
                "pairwise_templates": paths, "seed": datasets.Value("int64")}
    return _table(rows, features, ds, "records")


EXPORTERS: dict[str, Callable[..., Any]] = {"trl": to_trl, "pickapic": to_pickapic, "videodpo": to_videodpo,
                                            "records": to_records}


def to_dataset(source: Any, fmt: str, **options: Any) -> Any:
    if fmt not in EXPORTERS:
        raise ConfigError(f"unknown export format {fmt!r}", who="pairs export", fix=f"Use one of {', '.join(FORMATS)}")
    return EXPORTERS[fmt](source, **options)


def _holds_bytes(feature: Any) -> bool:
    """Whether a datasets feature stores raw bytes (binary values or images), which JSON cannot hold."""
    if getattr(feature, "dtype", None) == "binary" or type(feature).__name__ == "Image":
        return True
    inner = getattr(feature, "feature", None)
    if isinstance(feature, list):
        inner = feature[0] if feature else None
    return inner is not None and _holds_bytes(inner)


def check_output_path(output: str | Path) -> Path:
    """Refuse an export path whose suffix names no format an export is written in (``out.csv``), before any
    work: a ``.jsonl`` / ``.json`` / ``.parquet`` file, or a folder (no suffix, an existing folder, or a path
    ending in ``/``) that ``datasets.save_to_disk`` fills."""
    path = Path(output)
    suffix = path.suffix.lower()
    folder = str(output).endswith(("/", "\\")) or path.is_dir()
    if suffix in FILE_SUFFIXES or folder or not suffix:
        if path.is_file() and suffix not in FILE_SUFFIXES:
            raise ConfigError("is a file; an export without a .jsonl, .json or .parquet suffix is a folder",
                              who=str(output), fix="Name a new folder, or a .jsonl / .json / .parquet file")
        return path
    raise ConfigError(f"cannot write a pair export as '{suffix}' (a {suffix[1:].upper()} file)", who=str(output),
                      fix="Name a .jsonl, .json or .parquet file, or a folder without a suffix "
                          "(a datasets folder, read back with datasets.load_from_disk)")


def save(dataset: Any, output: str | Path) -> Path:
    """``.jsonl`` / ``.json`` -> JSON lines, ``.parquet`` -> parquet, a folder -> ``save_to_disk``; any other
    suffix is refused (see :func:`check_output_path`)."""
    output = check_output_path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    suffix = output.suffix.lower()
    if suffix in (".jsonl", ".json") and not output.is_dir():
        binary = [name for name, f in dataset.features.items() if _holds_bytes(f)]
        if binary:
            raise ConfigError(f"columns {binary} hold image bytes, which JSON lines cannot", who=str(output),
                              fix="Write .parquet or a folder instead")
        dataset.to_json(str(output), lines=True)
    elif suffix == ".parquet" and not output.is_dir():
        dataset.to_parquet(str(output))
    else:
        # one shard at least: datasets writes no data file for an empty dataset, and then cannot load the folder
        dataset.save_to_disk(str(output), **({"num_shards": 1} if dataset.num_rows == 0 else {}))
    return output


def load(path: str | Path) -> Any:
    """Load an export back as a ``datasets.Dataset`` (the inverse of :func:`save`)."""
    datasets = _datasets()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json") and path.is_file():
        if path.stat().st_size == 0:  # an export with no rows: JSON lines keep no columns
            return datasets.Dataset.from_dict({})
        return datasets.Dataset.from_json(str(path))
    if suffix == ".parquet" and path.is_file():
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        if table.num_rows == 0:  # datasets' parquet reader refuses a file without rows; the schema is there
            return datasets.Dataset(table)
        return datasets.Dataset.from_parquet(str(path))
    return datasets.load_from_disk(str(path))


def export(source: Any, fmt: str, output: str | Path, *, shuffle_seed: int | None = None) -> Path:
    """Write a pair dataset in one of :data:`FORMATS` to ``output``."""
    options = {"shuffle_seed": shuffle_seed} if fmt == "pickapic" else {}
    check_output_path(output)
    return save(to_dataset(source, fmt, **options), output)
