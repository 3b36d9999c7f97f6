"""`unireward eval`: judge a benchmark with any registered pairwise head and write a report folder.

    unireward eval --benchmark genai-bench-image --data genai_image.parquet \\
        --model CodeGoat24/UnifiedReward-qwen-7b --head generative --symmetric --out reports/genai-image

Progress goes to stderr; the headline figures and the report's location to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import add_fail_on_error, items_status

POINTWISE = "pointwise-jsonl"


def add_parser(subparsers) -> argparse.ArgumentParser:
    from ..evaluation.benchmarks import BENCHMARKS
    from ..evaluation.labels import BOTHBAD_POLICIES, VLRB_CATEGORY_SCHEMES

    p = subparsers.add_parser(
        "eval", help="evaluate a judge on a reward benchmark (JSON, Markdown and PNG report)",
        description="Judge every pair of a benchmark with a reward head and report the benchmark's own metrics "
        "(tau/diff, overall/macro accuracy) with bootstrap intervals, failures and position bias.",
    )
    # required unless --genai-leaderboard combines finished reports (checked in run)
    p.add_argument("--benchmark", choices=[*BENCHMARKS, POINTWISE])
    p.add_argument("--data",
                   help="local file or folder (parquet, jsonl, json, csv); 'hf' for the benchmark's hub id, "
                   "or hf:OWNER/NAME (needs network)")
    p.add_argument("--model", help="judge checkpoint: hub id or local folder (not needed by a head that declares "
                   "needs_backend=False)")
    p.add_argument("--out", required=True, help="report folder (created)")
    p.add_argument("--head", default="generative", help="registered reward head (default: generative)")
    p.add_argument("--backend", default="transformers", help="registered judge backend (default: transformers)")
    p.add_argument("--template", default=None, help="template id (default: the task's default for the checkpoint)")
    p.add_argument("--symmetric", action="store_true",
                   help="judge every pair in both orders and combine them (unireward_sdk.judging.Symmetric)")
    p.add_argument("--on-disagreement", default="tie", choices=("tie", "fail", "average"),
                   help="with --symmetric: what a disagreement between the orders becomes (default: tie)")
    p.add_argument("--both-orders", action="store_true",
                   help="also judge every pair with A and B exchanged, to measure swap consistency "
                   "(accuracy stays on the first order)")
    p.add_argument("--no-randomize", dest="randomize", action="store_false",
                   help="keep the published A/B order instead of a seeded random order")
    p.add_argument("--seed", type=int, default=0, help="seed for order randomisation and bootstrap (default 0)")
    p.add_argument("--limit", type=int, default=None, help="judge only the first N examples")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for intervals (default 1000)")
    p.add_argument("--batch-size", type=int, default=16, help="items per judge call (default 16)")
    p.add_argument("--device", default=None, help="backend device, e.g. cpu, cuda, cuda:1 (default: CUDA if present)")
    p.add_argument("--dtype", default=None, help="backend dtype: bfloat16, float16, float32 (default: the backend's)")
    p.add_argument("--family", default=None, help="template family of the checkpoint, when it cannot be inferred")
    p.add_argument("--frames", type=int, default=None, help="frames per video (default: the head's, 8)")
    p.add_argument("--media-root", default=None, help="folder that relative media paths start from "
                   "(default: the data file's folder)")
    p.add_argument("--media-cache", default=None, help="where embedded media bytes are written "
                   "(default: OUT/media_cache)")
    p.add_argument("--split", default=None, help="hub split (default: the benchmark's)")
    p.add_argument("--task", default=None, help="task for pairwise-jsonl / pointwise-jsonl rows that name none")
    p.add_argument("--bothbad", default="tie", choices=BOTHBAD_POLICIES,
                   help="GenAI-Bench bothbad_vote: a tie (default) or excluded")
    p.add_argument("--vlrb-categories", default="benchmark", choices=VLRB_CATEGORY_SCHEMES,
                   help="VL-RewardBench category rule (default: the benchmark's own grouping)")
    p.add_argument("--protocol", default="benchmark", choices=("benchmark", "unifiedreward"),
                   help="which figures to print: the benchmark's own scorer (default) or the UnifiedReward "
                   "evaluation scripts; report.json holds both")
    p.add_argument("--samples", type=int, default=1,
                   help="judge every pair k times, for VL-RewardBench's majority voting (the k judgments differ "
                   "only with a sampling head; default 1)")
    p.add_argument("--majority-selection", default="cal.py", choices=("cal.py", "first"),
                   help="which k of the samples VL-RewardBench's majority voting counts: cal.py's shuffle "
                   "(default) or the first k in judging order")
    p.add_argument("--replay", default=None, metavar="FILE",
                   help="answer from saved judge outputs instead of a model: GenAI-Bench's pairwise.jsonl / .json "
                   "(matched by row index) or a predictions.jsonl of an earlier run; --model and --head are unused")
    p.add_argument("--genai-leaderboard", nargs="+", default=None, metavar="REPORT",
                   help="combine finished GenAI-Bench reports (image generation, image editing, video generation) "
                   "into the leaderboard's row and three-task average; writes OUT/leaderboard.json and .md")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="skip the PNG plots")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first head error instead of recording it")
    add_fail_on_error(p)
    return p


def _log(message: str) -> None:
    print(f"unireward eval: {message}", file=sys.stderr, flush=True)


def build_heads(args, registry, tasks: list[str], mode: str = "pairwise") -> dict[str, Any]:
    """One head per task, on one backend; wrapped in Symmetric when asked."""
    from ..errors import CapabilityError, ConfigError

    spec = registry.reward_head_spec(args.head)
    installed = set(registry.names("task"))
    for task in tasks:
        if task not in installed and task not in spec.tasks:
            # a head for every task still judges through a task's prompts: with none installed it cannot (image
            # editing: no built-in task); refused before a checkpoint loads
            raise CapabilityError(
                f"no installed task judges '{task}' (installed: {', '.join(sorted(installed)) or 'none'}), and "
                f"reward head '{args.head}' does not name it",
                who="unireward eval",
                fix=f"Install a plugin that registers the task '{task}' or a head that names it, or score saved "
                    "judge outputs with --replay FILE",
            )
        if not spec.supports(task, mode):
            raise CapabilityError(
                f"does not support {mode} judging of task '{task}' (modes: {', '.join(spec.modes)}; "
                f"tasks: {', '.join(spec.tasks) or 'all'})",
                who=f"reward head '{args.head}'", fix="Pick another --head (`unireward plugins` lists them)",
            )
    backend = None
    if spec.needs_backend:
        if not args.model:
            raise ConfigError(f"reward head '{args.head}' judges with a model, and no --model was given",
                              who="unireward eval", fix="Pass --model <hub id or local folder of the judge checkpoint>")
        backend_kwargs = {k: v for k, v in (("device", args.device), ("dtype", args.dtype), ("family", args.family),
                                            ("batch_size", args.batch_size)) if v is not None}
        # before the checkpoint loads; with the options, a served judge is asked what it can do
        registry.check_head_backend(args.head, args.backend, {"checkpoint": args.model, **backend_kwargs})
        _log(f"loading backend '{args.backend}' with {args.model}")
        backend = registry.backend(args.backend, checkpoint=args.model, **backend_kwargs)
    elif args.model:
        _log(f"reward head '{args.head}' needs no model; --model is ignored")
    media = None
    if args.frames is not None:
        from ..media import MediaCache, VideoSampling

        media = MediaCache(registry=registry, video_policy=VideoSampling.even(args.frames))
    heads = {}
    for task in tasks:
        kwargs: dict[str, Any] = {"backend": backend, "task": task, "registry": registry}
        if spec.options is None or "batch_size" in {o.name for o in spec.options}:
            kwargs["batch_size"] = args.batch_size  # a head that declares no batching gets none
        if args.template is not None:
            kwargs["template"] = args.template
        if backend is None and args.family is not None:
            kwargs["family"] = args.family  # no backend to name the template family
        if media is not None:
            kwargs["media"] = media
        head = registry.reward_head(args.head, **kwargs)
        if args.symmetric and mode == "pairwise":
            from ..judging import Symmetric

            head = Symmetric(head, on_disagreement=args.on_disagreement)
        heads[task] = head
    return heads


def _template_used(heads: dict[str, Any], mode: str) -> dict[str, str | None]:
    out = {}
    for task, head in heads.items():
        getter = getattr(head, "template_for", None) or getattr(head, "template_id", None)
        try:
            out[task] = getter(mode) if callable(getter) else None
        except Exception:  # noqa: BLE001 - a third-party head may not know its template
            out[task] = None
    return out


def run(args) -> int:
    from .. import __version__
    from ..registry import get_registry

    out = Path(args.out)
    cache = Path(args.media_cache) if args.media_cache else out / "media_cache"
    registry = get_registry()
    started = time.time()
    run_info: dict[str, Any] = {
        "sdk_version": __version__, "data": args.data, "model": args.model, "head": args.head,
        "backend": args.backend, "symmetric": args.symmetric, "both_orders": args.both_orders,
        "seed": args.seed, "randomize_order": args.randomize, "limit": args.limit,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
    }
    if args.symmetric:
        run_info["on_disagreement"] = args.on_disagreement
    if args.genai_leaderboard:
        if args.benchmark or args.data:
            _log("--genai-leaderboard combines finished reports; --benchmark and --data are ignored")
        return _run_genai_leaderboard(args, out)
    missing = [flag for flag, value in (("--benchmark", args.benchmark), ("--data", args.data)) if not value]
    if missing:
        from ..errors import ConfigError

        raise ConfigError(f"{' and '.join(missing)} required", who="unireward eval",
                          fix="Pass --benchmark NAME --data PATH (or --genai-leaderboard REPORT... to combine reports)")
    if args.benchmark == POINTWISE:
        if args.replay:
            from ..errors import ConfigError

            raise ConfigError("--replay replays pairwise verdicts; pointwise scores cannot be replayed",
                              who="unireward eval", fix="Drop --replay, or replay a pairwise benchmark")
        return _run_pointwise(args, registry, out, cache, run_info, started)

    from ..evaluation import StderrProgress, build_report, evaluate_pairwise, load_benchmark, summarize, write_report

    options: dict[str, Any] = {}
    if args.benchmark.startswith("genai-bench"):
        options["bothbad"] = args.bothbad
    if args.benchmark == "vl-rewardbench":
        options["category_scheme"] = args.vlrb_categories
    if args.benchmark == "pairwise-jsonl" and args.task:
        options["task"] = args.task
    bench = load_benchmark(args.benchmark, args.data, media_root=args.media_root, cache_dir=cache,
                           limit=args.limit, split=args.split, **options)
    skipped = f", skipped {bench.skipped}" if bench.skipped else ""
    _log(f"{len(bench.examples)} examples from {bench.source}{skipped}")
    tasks = list(dict.fromkeys(ex.item.task for ex in bench.examples)) or [bench.info.task or "image_generation"]
    if args.replay:
        heads = _replay_head(args, bench.examples)
        run_info.update(head="replay", model=None, replay=args.replay, randomize_order=args.randomize)
    else:
        heads = build_heads(args, registry, tasks)
    progress = StderrProgress("unireward eval: judged")
    try:
        judged = evaluate_pairwise(heads, bench.examples, seed=args.seed, randomize_order=args.randomize,
                                   both_orders=args.both_orders, chunk_size=max(1, args.batch_size),
                                   progress=progress, fail_fast=args.fail_fast, samples=args.samples)
    finally:
        progress.close()
    run_info.update(protocol=args.protocol, samples=args.samples,
                    split=(args.split or bench.info.hub_split) if str(args.data).startswith("hf") else "local file",
                    data=bench.source, options=dict(bench.options), skipped=dict(bench.skipped),
                    template=None if args.replay else _template_used(heads, "pairwise"),
                    media_written=bench.media_written,
                    seconds=round(time.time() - started, 3))
    if bench.info.name == "vl-rewardbench" and args.samples > 1:
        run_info["majority_selection"] = args.majority_selection
    summary = summarize(judged, bench.info, n_bootstrap=args.bootstrap, seed=args.seed, protocol=args.protocol,
                        majority_selection=args.majority_selection)
    report = build_report(summary, bench.info, run_info)
    files = write_report(out, report, judged, plots=args.plots)
    print(headline_line(bench.info.title, summary))
    print(f"report: {files['report.md']}")
    return _status(args, summary)


def _replay_head(args, examples) -> Any:
    """A head answering from saved outputs; the recorded judge saw the published order, so that order is kept."""
    from ..evaluation.replay import ReplayHead, load_replay

    if args.model:
        _log("--replay answers from saved outputs; --model is ignored")
    if args.randomize:
        _log("--replay: the pairs keep the published order the saved judge saw (as with --no-randomize)")
        args.randomize = False
    if args.samples > 1 or args.both_orders or args.symmetric:
        from ..errors import ConfigError

        raise ConfigError("--replay holds one judgment per item on the published order",
                          who="unireward eval", fix="Drop --samples, --both-orders and --symmetric with --replay")
    return ReplayHead(load_replay(args.replay), examples)


def _run_genai_leaderboard(args, out: Path) -> int:
    from ..evaluation.leaderboard import genai_leaderboard, genai_leaderboard_markdown

    row = genai_leaderboard(args.genai_leaderboard)
    out.mkdir(parents=True, exist_ok=True)
    (out / "leaderboard.json").write_text(json.dumps(row, indent=2) + "\n", encoding="utf-8")
    (out / "leaderboard.md").write_text(genai_leaderboard_markdown(row), encoding="utf-8")
    cells = ", ".join(f"{t} {v['percent']}" for t, v in row["tasks"].items())
    average = "n/a (missing: " + ", ".join(row["missing"]) + ")" if row["average"] is None else row["average"]
    print(f"GenAI-Bench leaderboard [{row['scorer']}]: {cells}; average {average}")
    for caveat in row["caveats"]:
        _log(f"caveat: {caveat}")
    print(f"report: {out / 'leaderboard.md'}")
    return 0


def headline_line(title: str, summary: dict[str, Any]) -> str:
    """The stdout line: protocol, headline figures (with what each left out), failures."""
    parts = []
    for key, fig in summary["metrics"].items():
        left = {k: v for k, v in (fig.get("excluded") or {}).items() if v}
        note = f" (left out: {', '.join(f'{v} {k}' for k, v in left.items())})" if left else ""
        order = " (depends on item order)" if fig.get("order_dependent") else ""
        parts.append(f"{key} {_pct(fig['value'])}{note}{order}")
    averages = summary["protocols"].get(summary["protocol"], {}).get("averages")
    if averages and averages["avg"] is not None:  # VideoGen-RewardBench's leaderboard columns
        parts.append(f"leaderboard Avg. {_pct(averages['avg'])} (w/o Ties {_pct(averages['avg_without_ties'])}, "
                     f"w/ Ties {_pct(averages['avg_with_ties'])})")
    return (f"{title} [{summary['protocol']} protocol: {summary['scorer']}]: {', '.join(parts)}; "
            f"failures {summary['failures']['count']}/{summary['n']}")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _run_pointwise(args, registry, out: Path, cache: Path, run_info: dict[str, Any], started: float) -> int:
    from ..evaluation import StderrProgress, evaluate_pointwise, load_pointwise

    items, gold = load_pointwise(args.data, media_root=args.media_root, cache_dir=cache, task=args.task,
                                 limit=args.limit)
    _log(f"{len(items)} pointwise items from {args.data}")
    tasks = list(dict.fromkeys(it.task for it in items))
    heads = build_heads(args, registry, tasks, mode="pointwise")
    progress = StderrProgress("unireward eval: scored")
    try:
        summary = evaluate_pointwise(heads, items, gold, chunk_size=max(1, args.batch_size), progress=progress,
                                     n_bootstrap=args.bootstrap, seed=args.seed)
    finally:
        progress.close()
    run_info.update(template=_template_used(heads, "pointwise"), seconds=round(time.time() - started, 3))
    report = {"benchmark": {"name": POINTWISE, "title": "Pointwise scores (user file)", "kind": "correlation",
                            "notes": ["Failed scores are left out of the correlations and counted under failures."]},
              "run": run_info, **summary}
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    m = summary["metrics"]
    lines = ["# Pointwise scores: judge evaluation", "",
             f"- model: `{args.model}`, head: `{args.head}`, {summary['n']} items, {summary['n_scored']} scored", "",
             "| metric | value | 95% CI |", "|---|---:|---:|"]
    for key in ("spearman", "pearson"):
        ci = m[key]["ci"]
        value = "—" if m[key]["value"] is None else f"{m[key]['value']:.3f}"
        lines.append(f"| {key} | {value} | {'—' if not ci else f'{ci[0]:.3f} – {ci[1]:.3f}'} |")
    lines += ["", f"Failures: {summary['failures']['count']} of {summary['n']}."]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"pointwise: spearman {m['spearman']['value']}, pearson {m['pearson']['value']}; "
          f"failures {summary['failures']['count']}/{summary['n']}")
    print(f"report: {out / 'report.md'}")
    return _status(args, summary)


def _status(args, summary: dict[str, Any]) -> int:
    """1 when no item was judged successfully (the figures then measure nothing), or with --fail-on-error
    when any failed; the report is written either way."""
    total, failed = summary["n"], summary["failures"]["count"]
    status = items_status(total, failed, fail_on_error=args.fail_on_error)
    if status:
        why = "no item was judged successfully" if failed >= total else "--fail-on-error and some items failed"
        _log(f"{failed} of {total} items failed ({why}): exit status {status}; the reasons are in the report")
    return status
