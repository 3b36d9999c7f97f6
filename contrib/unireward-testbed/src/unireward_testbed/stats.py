"""Confidence intervals for the demo's measurements, and the verdict on each claim.

Every figure is a mean over evaluation units (prompts, questions, held-out pairs). Intervals are percentile
bootstraps (:func:`unireward_sdk.evaluation.metrics.bootstrap_ci`). With several training seeds the
bootstrap has two levels: seeds are resampled, then units within the drawn seeds, so the interval covers
both training randomness and the finite evaluation set. Differences are paired (the same units before and
after, or under both strategies), which is what makes small effects visible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unireward_sdk.evaluation.metrics import bootstrap_ci

N_RESAMPLES = 2000


def _as_matrix(per_seed: Sequence[Sequence[float]]) -> np.ndarray:
    rows = [np.asarray(r, dtype=float) for r in per_seed]
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError("every seed needs the same evaluation units")
    return np.stack(rows)


def mean_ci(per_seed: Sequence[Sequence[float]], *, seed: int = 0) -> dict:
    """Mean over seeds and units, with a (two-level when several seeds) bootstrap 95% interval."""
    m = _as_matrix(per_seed)
    n_seeds, n_units = m.shape
    rng = np.random.default_rng(seed)

    def stat(unit_idx: np.ndarray) -> float:
        seeds = rng.integers(0, n_seeds, size=n_seeds) if n_seeds > 1 else np.zeros(1, dtype=int)
        return float(m[np.ix_(seeds, unit_idx)].mean())

    ci = bootstrap_ci(stat, n_units, n_resamples=N_RESAMPLES, seed=seed)
    return {"mean": float(m.mean()), "ci": list(ci) if ci else None, "n_units": n_units, "n_seeds": n_seeds,
            "per_seed": [float(r.mean()) for r in m]}


def delta_ci(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], *, seed: int = 0) -> dict:
    """``a - b`` on paired units (same seeds, same units), with its bootstrap interval."""
    ma, mb = _as_matrix(a), _as_matrix(b)
    if ma.shape != mb.shape:
        raise ValueError(f"paired figures need the same shape, got {ma.shape} and {mb.shape}")
    return mean_ci(ma - mb, seed=seed)


# Bounds are means of differences of floats: a bound that should be exactly zero comes out as 1e-17 or
# -1e-17, and its sign is rounding, not evidence. Anything this close to zero counts as zero.
ZERO = 1e-9


def verdict(delta: dict) -> str:
    """``reproduced`` when the whole interval is above zero, ``not reproduced`` when the difference is not
    positive, ``inconclusive`` when it is positive but the interval reaches zero (within ``ZERO``)."""
    if delta["mean"] <= ZERO:
        return "not reproduced"
    if delta["ci"] is not None and delta["ci"][0] > ZERO:
        return "reproduced"
    return "inconclusive"


def fmt_delta(delta: dict, scale: float = 100.0, unit: str = "pts") -> str:
    """``Δ = +2.3 pts [-0.5, +5.1]`` (values times ``scale``)."""
    text = f"Δ = {scale * delta['mean']:+.1f} {unit}"
    if delta.get("ci"):
        lo, hi = delta["ci"]
        text += f" [{scale * lo:+.1f}, {scale * hi:+.1f}]"
    return text


def fmt_mean(figure: dict, scale: float = 100.0) -> str:
    text = f"{scale * figure['mean']:.1f}"
    if figure.get("ci"):
        lo, hi = figure["ci"]
        text += f" [{scale * lo:.1f}, {scale * hi:.1f}]"
    return text


def claim(name: str, delta: dict, *, scale: float = 100.0, unit: str = "pts", ci_kind: str = "") -> dict:
    """A claim's record: what was claimed, the measured difference and its verdict."""
    status = verdict(delta)
    return {"claim": name, "status": status, "delta": delta, "text": f"{name}: {status} ({fmt_delta(delta, scale, unit)})",
            "ci_kind": ci_kind}
