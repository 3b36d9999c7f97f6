"""Judge evaluation: benchmark loaders, the benchmarks' exact metrics, and reports (JSON, Markdown, PNG).

    >>> from unireward_sdk.evaluation import load_benchmark, evaluate_pairwise, summarize
    >>> bench = load_benchmark("genai-bench-image", "genai_image.parquet", cache_dir="media_cache")
    >>> judged = evaluate_pairwise(head, bench.examples, seed=0)      # any pairwise reward head
    >>> summarize(judged, bench.info)["metrics"]["tau"]["value"]

Importing this package does not import torch or matplotlib.
"""

from __future__ import annotations

from .benchmarks import (
    BENCHMARKS,
    BenchmarkExample,
    BenchmarkInfo,
    LoadedBenchmark,
    PublishedResult,
    benchmark_info,
    benchmark_names,
    examples_from_rows,
    load_benchmark,
)
from .labels import LabelError, genai_label, videogen_label, vlrb_category, vlrb_label
from .metrics import (
    a_preference_rate,
    accuracy,
    accuracy_ties_counted_wrong,
    accuracy_with_ties,
    accuracy_without_ties,
    bootstrap_ci,
    category_accuracy,
    confusion_matrix,
    macro_accuracy,
    pairwise_accuracy_from_scores,
    pearson,
    spearman,
    swap_consistency,
)
from .leaderboard import genai_leaderboard
from .pointwise import evaluate_pointwise, load_pointwise, summarize_pointwise
from .replay import ReplayHead, load_replay
from .report import build_report, markdown, plot_accuracy, plot_confusion, write_report
from .runner import JudgedExample, StderrProgress, evaluate_pairwise, present
from .sources import MediaResolver, read_rows
from .summary import summarize

__all__ = [
    "BENCHMARKS", "BenchmarkExample", "BenchmarkInfo", "JudgedExample", "LabelError", "LoadedBenchmark",
    "MediaResolver", "PublishedResult", "ReplayHead", "StderrProgress", "a_preference_rate", "accuracy",
    "accuracy_ties_counted_wrong", "accuracy_with_ties", "accuracy_without_ties", "benchmark_info",
    "benchmark_names", "bootstrap_ci", "build_report", "category_accuracy", "confusion_matrix",
    "evaluate_pairwise", "evaluate_pointwise", "examples_from_rows", "genai_label", "genai_leaderboard",
    "load_benchmark", "load_pointwise", "load_replay", "macro_accuracy", "markdown", "pairwise_accuracy_from_scores",
    "pearson",
    "plot_accuracy", "plot_confusion", "present", "read_rows", "spearman", "summarize",
    "summarize_pointwise", "swap_consistency", "videogen_label", "vlrb_category", "vlrb_label",
    "write_report",
]
