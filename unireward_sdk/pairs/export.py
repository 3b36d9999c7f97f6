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
pickapic); consumers ignore extra columns.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, require
from .store import PairDataset

FORMATS = ("trl", "pickapic", "videodpo", "records")


def _datasets():
    return require("datasets", extra="train", purpose="exporting pairs as a datasets.Dataset")


def _open(source: Any) -> PairDataset:
    return source if isinstance(source, PairDataset) else PairDataset(source)


def _score(score: Any) -> float | None:
    return None if score is None or score.value is None else float(score.value)


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
    message = [{"role": datasets.Value("string"), "content": datasets.Value("string")}]
    features = {"prompt": message, "chosen": message, "rejected": message, "prompt_id": datasets.Value("string"),
                "chosen_score": datasets.Value("float64"), "rejected_score": datasets.Value("float64")}
    if "image" in kinds:
        features["images"] = datasets.Sequence(datasets.Image())
    if "video" in kinds:
        features["videos"] = datasets.Sequence(datasets.Value("string"))
    return datasets.Dataset.from_list(rows, features=datasets.Features(features))


def to_pickapic(source: Any, *, shuffle_seed: int | None = None) -> Any:
    """Pick-a-Pic / Diffusion-DPO rows. ``shuffle_seed`` puts the chosen image first or second at random."""
    datasets = _datasets()
    ds = _open(source)
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
    features = datasets.Features({"caption": datasets.Value("string"), "jpg_0": datasets.Value("binary"),
                                  "jpg_1": datasets.Value("binary"), "label_0": datasets.Value("float64"),
                                  "prompt_id": datasets.Value("string"), "score_0": datasets.Value("float64"),
                                  "score_1": datasets.Value("float64")})
    return datasets.Dataset.from_list(rows, features=features)


def to_videodpo(source: Any) -> Any:
    """VideoDPO rows: caption and the chosen / rejected video paths."""
    datasets = _datasets()
    ds = _open(source)
    rows = []
    for pair in ds.pairs():
        _need(pair, "video", "videodpo", "Use --format pickapic for images, trl for understanding tasks")
        rows.append({"caption": pair.prompt or "", "chosen": str(Path(pair.chosen.path).resolve()),
                     "rejected": str(Path(pair.rejected.path).resolve()), "prompt_id": pair.prompt_id,
                     "chosen_score": _score(pair.chosen_score), "rejected_score": _score(pair.rejected_score)})
    features = datasets.Features({k: datasets.Value("float64" if k.endswith("score") else "string")
                                  for k in ("caption", "chosen", "rejected", "prompt_id", "chosen_score",
                                            "rejected_score")})
    return datasets.Dataset.from_list(rows, features=features)


def to_records(source: Any) -> Any:
    """One flat row per pair: what was compared, the scores, and where the judgment came from."""
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
    return datasets.Dataset.from_list(rows)


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


def save(dataset: Any, output: str | Path) -> Path:
    """``.jsonl`` / ``.json`` -> JSON lines, ``.parquet`` -> parquet, anything else -> ``save_to_disk`` folder."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    suffix = output.suffix.lower()
    if suffix in (".jsonl", ".json"):
        binary = [name for name, f in dataset.features.items() if _holds_bytes(f)]
        if binary:
            raise ConfigError(f"columns {binary} hold image bytes, which JSON lines cannot", who=str(output),
                              fix="Write .parquet or a folder instead")
        dataset.to_json(str(output), lines=True)
    elif suffix == ".parquet":
        dataset.to_parquet(str(output))
    else:
        dataset.save_to_disk(str(output))
    return output


def load(path: str | Path) -> Any:
    """Load an export back as a ``datasets.Dataset`` (the inverse of :func:`save`)."""
    datasets = _datasets()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return datasets.Dataset.from_json(str(path))
    if suffix == ".parquet":
        return datasets.Dataset.from_parquet(str(path))
    return datasets.load_from_disk(str(path))


def export(source: Any, fmt: str, output: str | Path, *, shuffle_seed: int | None = None) -> Path:
    """Write a pair dataset in one of :data:`FORMATS` to ``output``."""
    options = {"shuffle_seed": shuffle_seed} if fmt == "pickapic" else {}
    return save(to_dataset(source, fmt, **options), output)
