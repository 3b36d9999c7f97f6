"""Evaluation-harness costs, as ratios measured in one run (no model: a fake instant head isolates the harness).

1. Bootstrap intervals: ``summarize`` with 1000 resamples vs without, on 2,000 judged GenAI-style items
   (ties, failures, per-label groups). The ratio says what the intervals cost on top of the point figures.
2. The media cache: loading a Parquet benchmark whose 400 images are embedded bytes, cold (every image
   written to the cache) vs warm (content-addressed files already there). Ratio warm / cold.

Run: .venv/bin/pytest benchmarks/test_bench_evaluation.py -s (add --benchmark-disable for a smoke run).
"""

from __future__ import annotations

import io
import random
import time

import pytest

from unireward_sdk.evaluation import BenchmarkExample, benchmark_info, evaluate_pairwise, load_benchmark, summarize
from unireward_sdk.records import Candidate, JudgeItem, ParseStatus, Verdict

N_ITEMS = 2000


class _InstantHead:
    name = "instant"

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)

    def judge_pairwise(self, items):
        out = []
        for it in items:
            r = self.rng.random()
            if r < 0.05:
                out.append(Verdict.failure(it.id, ParseStatus.UNPARSED, "no verdict"))
            else:
                out.append(Verdict(item_id=it.id, winner="A" if r < 0.5 else "B" if r < 0.9 else "tie"))
        return out


def _examples(n: int) -> list[BenchmarkExample]:
    votes = [("leftvote", "A"), ("rightvote", "B"), ("tievote", "tie"), ("bothbad_vote", "tie")]
    out = []
    for i in range(n):
        raw, label = votes[i % 4 if i % 10 else 0]
        item = JudgeItem(id=f"g{i}", task="image_generation", prompt="p",
                         candidates=(Candidate(id=f"g{i}:l", modality="image", path="l.png"),
                                     Candidate(id=f"g{i}:r", modality="image", path="r.png")))
        out.append(BenchmarkExample(item=item, label=label, raw_label=raw))
    return out


def _timed(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_bench_bootstrap_cost(benchmark):
    info = benchmark_info("genai-bench-image")
    judged = evaluate_pairwise(_InstantHead(), _examples(N_ITEMS), seed=0)
    plain = _timed(lambda: summarize(judged, info, n_bootstrap=0))
    boot = _timed(lambda: summarize(judged, info, n_bootstrap=1000))
    benchmark.pedantic(summarize, args=(judged, info), kwargs={"n_bootstrap": 1000}, rounds=3, iterations=1)
    ratio = boot / plain
    benchmark.extra_info.update(items=N_ITEMS, resamples=1000, bootstrap_over_plain=round(ratio, 2),
                                seconds_with_bootstrap=round(boot, 4))
    print(f"\nsummarize {N_ITEMS} items: with 1000 bootstrap resamples {boot * 1e3:.1f} ms, "
          f"without {plain * 1e3:.1f} ms, ratio {ratio:.1f}x")


def test_bench_media_cache_warm_vs_cold(benchmark, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    from PIL import Image

    rows = []
    for i in range(200):
        pair = []
        for side in (0, 1):
            buf = io.BytesIO()
            Image.new("RGB", (64, 64), ((7 * i) % 256, side * 120, (13 * i) % 256)).save(buf, format="PNG")
            pair.append({"bytes": buf.getvalue(), "path": None})
        rows.append({"prompt": f"p{i}", "left_image": pair[0], "right_image": pair[1], "vote_type": "leftvote"})
    data = tmp_path / "genai.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    caches = iter(range(10_000))

    def cold():
        return load_benchmark("genai-bench-image", data, cache_dir=tmp_path / f"cold{next(caches)}")

    warm_cache = tmp_path / "warm"
    load_benchmark("genai-bench-image", data, cache_dir=warm_cache)
    cold_s = _timed(cold)
    warm_s = _timed(lambda: load_benchmark("genai-bench-image", data, cache_dir=warm_cache))
    benchmark.pedantic(load_benchmark, args=("genai-bench-image", data), kwargs={"cache_dir": warm_cache},
                       rounds=3, iterations=1)
    ratio = warm_s / cold_s
    benchmark.extra_info.update(images=400, warm_over_cold=round(ratio, 3))
    print(f"\nload 400 embedded images: cold {cold_s * 1e3:.1f} ms, warm {warm_s * 1e3:.1f} ms, "
          f"warm/cold {ratio:.2f}")
