"""The joint-vs-single-task ablation: one judge per task and one on all tasks, with matched budgets.

**Matching.** Every judge (each single-task judge and the joint one) runs the same number of optimizer
steps with the same batch size, gradient accumulation, learning rate, schedule and seed, so each sees the
same number of training examples; only *which* examples differ. When the config gives ``num_train_epochs`` instead
of ``max_steps``, the step count is computed once from the joint training set and given to every judge
(a single-task judge then passes over its own, smaller set several times). Every judge is evaluated on
the same held-out records of its task(s), shown in the same seeded order, with the harness's accuracy
and bootstrap interval; the report sets single and joint side by side per task.

    report = run_ablation("train.jsonl", "eval.jsonl", "runs/base", "runs/ablation",
                          JudgeTrainingConfig(max_steps=200, batch_size=8))
    print(report.markdown())   # also runs/ablation/ablation.{json,md,png}
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .callbacks import TrainingCallback
from .config import GENERATIVE, JudgeTrainingConfig
from .records import TrainingRecord, tasks_in
from .report import AblationReport, AblationRow
from .runtime import as_records

# the paper's task order, used to order tables and plots
TASK_ORDER = ("image_generation", "video_generation", "image_understanding", "video_understanding")


def _trainer(judge: str, registry: Any):
    """Generative SFT, or the trainer that reward head ``judge`` brings (looked up in the registry)."""
    if judge == GENERATIVE:
        from .sft import train_generative_judge

        return train_generative_judge
    from .scalar import train_scalar_judge

    if registry is None:
        from ..registry import get_registry

        registry = get_registry()
    if registry.reward_head_spec(judge).trainer is None:
        raise ConfigError(f"judge {judge!r} cannot be trained: its reward head has no trainer", who="run_ablation",
                          fix=f'Pass judge="{GENERATIVE}" or the name of a reward head whose spec has a trainer')

    def train_head(*args: Any, **kwargs: Any) -> Any:
        return train_scalar_judge(*args, head=judge, **kwargs)

    return train_head


def _learning_rate(config: JudgeTrainingConfig, judge: str) -> float | None:
    # a head's trainer may train at rates of its own (its head_options): the budget names the core's rate only
    # where it is the one used
    return config.learning_rate if judge == GENERATIVE else None


def run_ablation(
    train_records: Any,
    eval_records: Any,
    base_model_dir: str | Path,
    out_dir: str | Path,
    config: JudgeTrainingConfig | None = None,
    *,
    judge: str = "generative",
    tasks: Sequence[str] | None = None,
    registry: Any = None,
    callback: TrainingCallback | None = None,
    keep_checkpoints: bool = True,
) -> AblationReport:
    """Train single-task judges and a joint judge (matched steps), evaluate each per task, report.

    ``judge``: ``generative`` (SFT) or a reward head whose spec has a trainer (``scalar``: the value head).
    ``tasks``: which tasks take part
    (default: every task in the training records). ``keep_checkpoints=False`` deletes each judge's
    weights once it has been evaluated (the reports stay). Writes ``ablation.json``, ``ablation.md`` and
    ``ablation.png`` into ``out_dir`` and returns the :class:`AblationReport`.
    """
    train_fn = _trainer(judge, registry)
    config = config or JudgeTrainingConfig()
    if config.resume_from_checkpoint not in (None, "latest"):
        raise ConfigError("an ablation trains several judges, each in its own folder: one checkpoint path cannot "
                          "resume them all", who="run_ablation",
                          fix="Use resume_from_checkpoint = 'latest' (each judge continues from its own newest "
                              "checkpoint)")
    train: list[TrainingRecord] = as_records(train_records)
    evals: list[TrainingRecord] = as_records(eval_records)
    present = tasks_in(train, TASK_ORDER)
    chosen = list(tasks) if tasks is not None else present
    missing = [t for t in chosen if t not in present]
    if missing:
        raise ConfigError(f"no training records for task(s) {', '.join(missing)}", who="run_ablation",
                          fix=f"Tasks in the data: {', '.join(present)}")
    if len(chosen) < 2:
        raise ConfigError("the ablation needs at least two tasks (joint vs single-task)", who="run_ablation",
                          fix="Choose two or more tasks (tasks=, or [ablation] tasks in the config) from those "
                              f"in the data: {', '.join(present) or 'none'}")
    no_eval = [t for t in chosen if not any(r.task == t and r.mode == "pairwise" for r in evals)]
    if no_eval:
        raise ConfigError(f"no pairwise evaluation records for task(s) {', '.join(no_eval)}", who="run_ablation",
                          fix="Give held-out pairwise records for every task")
    joint_train = [r for r in train if r.task in chosen]
    steps = config.max_steps if config.max_steps is not None else config.optimizer_steps(len(joint_train))
    matched = config.evolve(max_steps=steps)
    budget = {"steps": steps, "batch_size": config.batch_size, "grad_accum": config.gradient_accumulation_steps,
              "examples_per_step": config.batch_size * config.gradient_accumulation_steps,
              "examples_per_judge": steps * config.batch_size * config.gradient_accumulation_steps,
              "lr": _learning_rate(config, judge),
              **({} if judge == GENERATIVE else {"head_options": dict(config.head_options)}),
              "seed": config.seed, "train_records": {t: sum(r.task == t for r in joint_train) for t in chosen}}
    out = Path(out_dir)
    runs = {}
    for task in chosen:
        folder = out / "single" / task
        runs[task] = train_fn([r for r in train if r.task == task], base_model_dir, folder, matched,
                              eval_records=[r for r in evals if r.task == task], registry=registry,
                              callback=callback, run_name=task)
        if not keep_checkpoints:
            _drop_weights(folder)
    runs["joint"] = train_fn(joint_train, base_model_dir, out / "joint", matched,
                             eval_records=[r for r in evals if r.task in chosen], registry=registry,
                             callback=callback, run_name="joint")
    if not keep_checkpoints:
        _drop_weights(out / "joint")
    rows = [AblationRow(task=t, single=runs[t].final.get(t), joint=runs["joint"].final.get(t)) for t in chosen]
    report = AblationReport(judge=judge, tasks=chosen, rows=rows, budget=budget, runs=runs, output_dir=str(out))
    report.write(out)
    return report


def _drop_weights(folder: Path) -> None:
    """Delete a judge's weights but keep its training report."""
    for path in folder.glob("*.safetensors"):
        path.unlink()
    head = folder / "value_head"
    if head.is_dir():
        shutil.rmtree(head)
