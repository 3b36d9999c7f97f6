"""`unireward train-judge`: train a generative or scalar judge, or run the joint-vs-single-task ablation.

    unireward train-judge --config judge.toml
    unireward train-judge --config judge.toml --max-steps 50 --output-dir runs/quick

The TOML layout is documented in :mod:`unireward_sdk.training.config` and ``docs/training.md``. Progress
(:mod:`unireward_sdk.progress`: a rich bar on a terminal, plain lines otherwise or with ``--no-progress``),
evaluations with each judge's answer mix, and messages go to stderr; the final report
(Markdown) goes to stdout and is also written next to the judge.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train-judge", help="train a judge (generative SFT or scalar head) or run the joint-vs-single ablation",
        description="Train a unified judge on preference records described by a TOML config.",
    )
    p.add_argument("--config", required=True, type=Path, help="TOML file (see docs/training.md)")
    p.add_argument("--mode", help="override the config's mode: generative, ablation or a reward head with a trainer "
                   "(scalar)")
    p.add_argument("--output-dir", type=Path, help="override the config's output_dir")
    p.add_argument("--max-steps", type=int, help="override [training] max_steps")
    p.add_argument("--device", help="override [training] device (cpu, cuda, cuda:1...)")
    p.add_argument("--resume-from-checkpoint", metavar="PATH|latest",
                   help="continue an interrupted run from a checkpoint-<step> folder that [training] save_every wrote "
                        "(latest: the newest in the output folder)")
    p.add_argument("--no-progress", action="store_true", help="plain progress lines instead of a rich bar")
    return p


def run(args) -> int:
    from ..registry import get_registry
    from ..training import (
        ProgressCallback,
        TrainJudgeConfig,
        load_records,
        run_ablation,
        train_generative_judge,
        train_scalar_judge,
    )

    registry = get_registry()
    job = TrainJudgeConfig.from_toml(args.config, registry=registry)
    changes: dict[str, Any] = {}
    if args.max_steps is not None:
        changes["max_steps"] = args.max_steps
    if args.device:
        changes["device"] = args.device
    if args.resume_from_checkpoint:
        changes["resume_from_checkpoint"] = (args.resume_from_checkpoint if args.resume_from_checkpoint == "latest"
                                             else str(Path(args.resume_from_checkpoint).resolve()))
    if changes:
        job = job.evolve(training=job.training.evolve(**changes))
    if args.mode:
        job = job.evolve(mode=args.mode)  # checked like the file's mode
    training, mode = job.training, job.mode
    output = args.output_dir or job.output_dir
    train = [r for path in job.train for r in load_records(path)]
    evals = [r for path in job.eval for r in load_records(path)]
    style = "plain" if args.no_progress else "auto"
    with ProgressCallback(every=training.log_every, style=style) as callback:
        if mode == "ablation":
            report = run_ablation(train, evals, job.base_model, output, training, judge=job.ablation_judge,
                                  tasks=job.ablation_tasks, registry=registry, callback=callback)
        elif mode == "generative":
            report = train_generative_judge(train, job.base_model, output, training, eval_records=evals or None,
                                            registry=registry, callback=callback)
        else:  # a reward head whose spec brings a trainer
            report = train_scalar_judge(train, job.base_model, output, training, eval_records=evals or None,
                                        head=mode, registry=registry, callback=callback)
    sys.stdout.write(report.markdown())
    sys.stdout.flush()
    where = f"{output}/ablation.md" if mode == "ablation" else f"{output}/training_report.md"
    print(f"unireward train-judge: report written to {where}", file=sys.stderr)
    return 0
