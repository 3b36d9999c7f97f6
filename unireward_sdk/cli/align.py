"""`unireward align --config FILE.toml`: train a policy on preference pairs, save it, print a summary.

The TOML file names the aligner, the pair export and the aligner's config fields, either at top level
or in an ``[align]`` table::

    [align]
    aligner = "diffusion_dpo"          # any registered aligner
    data = "pairs/pickapic.jsonl"      # a pair export: .jsonl / .parquet / datasets folder
    format = "auto"                    # or pickapic / videodpo / trl
    model = "path/or/hub-id"
    output_dir = "aligned"
    max_steps = 200
    learning_rate = 1e-5
    beta = 5000
    lora = true
    batch_size = 4
    gradient_accumulation_steps = 1
    mixed_precision = "no"
    seed = 0

``data``, ``output_dir`` and ``sample_dir`` are relative to the config file; so is ``model`` when
such a folder exists there (otherwise it is a hub id). Progress goes to stderr; ``--json`` prints the
summary as JSON on stdout. The summary (with every step's metrics) is also written to
``<output_dir>/train_summary.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EVAL_FILE = "eval_results.json"

def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("align", help="train a policy on preference pairs (DPO / Diffusion-DPO), or evaluate one")
    p.add_argument("--config", help="TOML file: aligner, data, format and the aligner's settings")
    p.add_argument("--data", help="override the pair export path")
    p.add_argument("--output-dir", help="override where the policy is saved")
    p.add_argument("--max-steps", type=int, help="override the number of optimizer steps")
    p.add_argument("--resume-from-checkpoint", metavar="PATH|latest",
                   help="continue an interrupted run from a checkpoint-<step> folder (latest: the newest in output_dir)")
    p.add_argument("--evaluate", nargs="?", const=True, metavar="PAIRS",
                   help="DPO loss, reward margin and accuracy on held-out pairs (default: the config's eval_data); "
                        "with --policy, of a saved policy without training")
    p.add_argument("--policy", help="with --evaluate: a policy folder to evaluate (no --config, no training)")
    p.add_argument("--aligner", help="with --policy: the aligner's name when the folder does not record it")
    p.add_argument("--format", default="auto", help="with --policy: the held-out pairs' format (default auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of the evaluation's noise draws (default 0)")
    p.add_argument("--eval-output", help="where to write the evaluation JSON (default <policy>/eval_results.json)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def load_config(path: str | Path) -> Any:
    """The align job of a TOML file (an :class:`~unireward_sdk.alignment.config.AlignJobConfig`)."""
    from ..alignment.config import AlignJobConfig

    return AlignJobConfig.from_toml(path)


class _Progress:
    """The aligner's callback: a bar (or plain lines off a terminal) on stderr with loss and margin."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()

    def __call__(self, metrics, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from ..progress import track

            # optimizer steps are the same on every process: the main one shows them
            self._bar = track("unireward align: step", total).__enter__()
        self._bar.update(metrics.step, total=total, status=f"loss {metrics.loss:.4f}, margin {metrics.margin:+.3f}, "
                         f"acc {metrics.accuracy:.2f}")


def _print_summary(summary) -> None:
    from rich.console import Console
    from rich.table import Table

    def fmt(value):
        return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)

    d = summary.to_dict()
    table = Table(title=f"unireward align: {summary.aligner}", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value", overflow="fold")  # paths wrap instead of being cut
    table.add_row("pairs trained on", str(d["pairs"]))
    table.add_row("dropped", ", ".join(f"{n} {why}" for why, n in d["dropped"].items()) or "none")
    table.add_row("optimizer steps", str(d["steps"]))
    table.add_row("loss (first → final)", f"{fmt(d['first_loss'])} → {fmt(d['final_loss'])}")
    table.add_row("reward margin (first → final)", f"{fmt(d['first_margin'])} → {fmt(d['final_margin'])}")
    table.add_row("accuracy (final)", fmt(d["final_accuracy"]))
    table.add_row("policy saved to", str(d["output_dir"]))
    Console().print(table)


def _usage_error(message: str) -> int:
    print(f"unireward align: error: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    if args.policy:
        if args.config:
            return _usage_error("give --config (train) or --policy (evaluate a saved policy), not both")
        if not isinstance(args.evaluate, str):
            return _usage_error("--policy evaluates a saved policy: add --evaluate PAIRS (the held-out pairs)")
        return _evaluate_saved(args)
    if not args.config:
        return _usage_error("--config is required (or --policy DIR --evaluate PAIRS to evaluate a saved policy)")
    return _train(args)


def _evaluate_saved(args) -> int:
    from ..alignment import load_policy

    aligner = load_policy(args.policy, args.aligner)
    result = evaluation_record(aligner, args.evaluate, args.format, args.seed, policy=str(args.policy))
    _report_evaluation(result, Path(args.eval_output or Path(args.policy) / EVAL_FILE), args.json)
    return 0


def evaluation_record(aligner: Any, data: str, format: str, seed: int, *, policy: str) -> dict[str, Any]:
    """The aligner's ``evaluate`` on held-out pairs, as the JSON object ``--evaluate`` writes."""
    result = aligner.evaluate(data, seed=seed, format=format)
    return {"aligner": aligner.name, "policy": policy, "data": str(data), "format": format, "seed": seed,
            "pairs": result.pairs, "loss": result.loss, "margin": result.margin, "accuracy": result.accuracy}


def _report_evaluation(record: dict[str, Any], path: Path, as_json: bool) -> None:
    if int(os.environ.get("RANK", "0")) != 0:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    record = {**record, "written_to": str(path)}
    if as_json:
        print(json.dumps(record, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"unireward align --evaluate: {record['aligner']}", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row("policy", record["policy"])
    table.add_row("held-out pairs", f"{record['pairs']} ({record['data']})")
    table.add_row("DPO loss", f"{record['loss']:.4f}")
    table.add_row("reward margin", f"{record['margin']:+.4f}")
    table.add_row("preference accuracy", f"{record['accuracy']:.4f}")
    table.add_row("written to", str(path))
    Console().print(table)


def _train(args) -> int:
    from ..alignment import read_pairs
    from ..registry import get_registry

    job = load_config(args.config)
    config = job.aligner_config()
    if args.data:
        job = job.evolve(data=args.data)
    if args.output_dir:
        config["output_dir"] = args.output_dir
    if args.max_steps:
        config["max_steps"] = args.max_steps
    if args.resume_from_checkpoint:
        config["resume_from_checkpoint"] = args.resume_from_checkpoint
    eval_data = args.evaluate if isinstance(args.evaluate, str) else job.eval_data if args.evaluate else None
    if args.evaluate is True and eval_data is None:
        return _usage_error("--evaluate without a path needs eval_data in the config")
    registry = get_registry()
    registry.aligner_spec(job.aligner)  # an unknown name fails here, before anything loads
    pairs = read_pairs(job.data, job.format)
    aligner = registry.aligner(job.aligner, config=config)
    with _Progress(enabled=not args.no_progress and not args.json) as progress:
        summary = aligner.train(pairs, callback=progress)
    output_dir = Path(aligner.config.output_dir)
    aligner.save_pretrained(output_dir)  # every process calls it; the aligner writes from the main one
    summary = summary.saved_to(str(output_dir))
    evaluation = None
    if eval_data is not None:
        evaluation = evaluation_record(aligner, eval_data, job.eval_format, args.seed, policy=str(output_dir))
    if int(os.environ.get("RANK", "0")) != 0:  # under `accelerate launch`, report once
        return 0
    record = {**summary.to_dict(), "history": [
        {"step": m.step, "loss": m.loss, "margin": m.margin, "accuracy": m.accuracy, "learning_rate": m.learning_rate}
        for m in summary.history]}
    (output_dir / "train_summary.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    if args.json and evaluation is None:
        print(json.dumps(summary.to_dict(), indent=2))
    elif args.json:
        path = Path(args.eval_output or output_dir / EVAL_FILE)
        path.write_text(json.dumps(evaluation, indent=2), encoding="utf-8")
        print(json.dumps({**summary.to_dict(), "evaluation": {**evaluation, "written_to": str(path)}}, indent=2))
    else:
        _print_summary(summary)
        if evaluation is not None:
            _report_evaluation(evaluation, Path(args.eval_output or output_dir / EVAL_FILE), False)
    return 0
