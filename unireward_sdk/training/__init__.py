"""Training unified judges on multi-task preference records, and the joint-vs-single-task ablation.

    >>> from unireward_sdk.training import JudgeTrainingConfig, train_generative_judge, run_ablation
    >>> report = train_generative_judge("train.jsonl", "base_judge", "my_judge",
    ...                                 JudgeTrainingConfig(max_steps=200), eval_records="eval.jsonl")
    >>> ablation = run_ablation("train.jsonl", "eval.jsonl", "base_judge", "runs/ablation")
    >>> print(ablation.markdown())

Importing this package does not import torch; the trainers import it when called. See docs/training.md.
"""

from __future__ import annotations

from .ablation import run_ablation
from .callbacks import PrintCallback, ProgressCallback, TrainingCallback
from .config import JudgeTrainingConfig, TrainJudgeConfig
from .evaluate import TaskScore, evaluate_records
from .examples import (
    TrainingExample,
    balanced_swaps,
    build_examples,
    chat_messages,
    chat_rows,
    mixture_schedule,
    mixture_stream,
    position_balance,
)
from .loop import JudgeLoss, JudgeRun, Optimization, run_judge_training
from .records import TrainingRecord, load_records, record_from_dict, record_to_dict
from .report import AblationReport, AblationRow, TrainReport
from .scalar import train_scalar_judge
from .sft import train_generative_judge
from .targets import render_checked, render_target

__all__ = [
    "AblationReport", "AblationRow", "JudgeLoss", "JudgeRun", "JudgeTrainingConfig", "Optimization",
    "PrintCallback", "ProgressCallback", "TaskScore", "TrainJudgeConfig", "TrainReport", "TrainingCallback", "TrainingExample",
    "TrainingRecord", "balanced_swaps", "build_examples", "chat_messages", "chat_rows", "evaluate_records",
    "load_records", "mixture_schedule", "mixture_stream", "position_balance", "record_from_dict", "record_to_dict",
    "render_checked", "render_target", "run_ablation", "run_judge_training", "train_generative_judge",
    "train_scalar_judge",
]
