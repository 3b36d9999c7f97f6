"""Pointwise evaluation on user data: how well a judge's scores track gold scores (Spearman, Pearson).

Rows of a ``pointwise-jsonl`` file: ``id``, ``task``, ``prompt`` / ``question``, ``context`` (media
paths), ``candidate`` (a text, or ``{"path": ...}``), ``score`` (the gold number). Failed scores are
left out of the correlations and reported separately (a made-up score would bias them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, UniRewardError
from ..records import JudgeItem, Score
from . import metrics as M
from .benchmarks import _user_candidate
from .runner import ProgressFn
from .sources import MediaResolver


def load_pointwise(data: str | Path, *, media_root: str | Path | None = None, cache_dir: str | Path | None = None,
                   task: str | None = None, limit: int | None = None) -> tuple[list[JudgeItem], list[float]]:
    """Items and gold scores from a local pointwise file."""
    from ..ingest import read_rows

    path = Path(data)
    rows = list(read_rows(path))[: limit if limit is not None else None]
    media = MediaResolver(media_root if media_root is not None else (path if path.is_dir() else path.parent), cache_dir)
    items, gold = [], []
    for i, located in enumerate(rows):
        where, row = located.where, located.data
        row_task = row.get("task") or task
        if not row_task or "candidate" not in row or "score" not in row:
            raise ConfigError(f"row {i} needs 'task' (or --task), 'candidate' and 'score'", who=where,
                              fix="Give every row 'candidate' and 'score', and 'task' unless --task is passed")
        item_id = str(row.get("id") or f"pointwise-{i:06d}")
        context = row.get("context") or ()
        if isinstance(context, (str, Mapping)):
            context = (context,)
        items.append(JudgeItem(
            id=item_id, task=str(row_task), prompt=row.get("prompt"), question=row.get("question"),
            context=tuple(media(c, field="context", row=where) for c in context),
            candidates=(_user_candidate(row["candidate"], item_id, "candidate", media, where, str(row_task), None),),
        ))
        gold.append(float(row["score"]))
    return items, gold


def score_items(head: Any, items: Sequence[JudgeItem], *, chunk_size: int = 16,
                progress: ProgressFn | None = None) -> list[Score]:
    out: list[Score] = []
    for start in range(0, len(items), max(1, chunk_size)):
        chunk = list(items[start : start + chunk_size])
        task_head = head[chunk[0].task] if isinstance(head, Mapping) else head
        scores = list(task_head.score_pointwise(chunk))
        if len(scores) != len(chunk):
            raise UniRewardError(f"score_pointwise returned {len(scores)} scores for {len(chunk)} items",
                                 who=f"reward head '{getattr(task_head, 'name', type(task_head).__name__)}'",
                                 fix="Make score_pointwise return one Score per item, failures included, in order")
        out.extend(scores)
        if progress is not None:
            progress(len(out), len(items))
    return out


def summarize_pointwise(gold: Sequence[float], scores: Sequence[Score], *, n_bootstrap: int = 1000,
                        seed: int = 0, confidence: float = 0.95) -> dict[str, Any]:
    """Spearman and Pearson over the items the judge scored, with bootstrap intervals, and failures."""
    predicted = [s.value if s.ok else None for s in scores]
    g, p = M.paired_scores(gold, predicted)
    ga, pa = np.asarray(g, dtype=float), np.asarray(p, dtype=float)
    boot = dict(n_resamples=n_bootstrap, seed=seed, confidence=confidence)
    failed = [s for s in scores if not s.ok]
    return {
        "n": len(gold),
        "n_scored": len(g),
        "metrics": {
            "spearman": {"value": M.spearman(g, p),
                         "ci": _ci(M.bootstrap_ci(lambda idx: M.spearman(ga[idx], pa[idx]), len(g), **boot))},
            "pearson": {"value": M.pearson(g, p),
                        "ci": _ci(M.bootstrap_ci(lambda idx: M.pearson(ga[idx], pa[idx]), len(g), **boot))},
        },
        "failures": {"count": len(failed), "rate": len(failed) / len(scores) if scores else None,
                     "by_status": dict(Counter(s.status for s in failed)),
                     "examples": [{"id": s.item_id, "status": s.status, "error": s.error, "raw": (s.raw or "")[:300]}
                                  for s in failed[:5]]},
        "bootstrap": {"n_resamples": n_bootstrap, "seed": seed, "confidence": confidence},
    }


def _ci(value: tuple[float, float] | None) -> list[float] | None:
    return list(value) if value is not None else None


def evaluate_pointwise(head: Any, items: Sequence[JudgeItem], gold: Sequence[float], **kw: Any) -> dict[str, Any]:
    """Score ``items`` with ``head.score_pointwise`` and correlate with ``gold``."""
    progress = kw.pop("progress", None)
    chunk_size = kw.pop("chunk_size", 16)
    scores = score_items(head, items, chunk_size=chunk_size, progress=progress)
    return summarize_pointwise(gold, scores, **kw)
