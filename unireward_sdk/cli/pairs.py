"""`unireward pairs`: build preference pairs from a manifest, export them, draw a contact sheet.

    unireward pairs --config job.toml [--resume | --overwrite]
    unireward pairs export --format trl|pickapic|videodpo --input OUT_DIR --output PATH
    unireward pairs sheet --input OUT_DIR --output sheet.html|sheet.png [--sample 8]

Under ``accelerate launch --multi_gpu --num_processes N -m unireward_sdk pairs --config job.toml`` each process
builds its share (``--multi_gpu`` also on CPU-only machines: ``--cpu`` starts a single process).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("pairs", help="build DPO preference pairs (pair ranking + point sifting), export them",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="job config (TOML, a [pairs] table)")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue the job in the config's output folder")
    again.add_argument("--overwrite", action="store_true",
                       help="replace the pair dataset in the output folder with this job's (once the job is checked "
                            "and its judge loaded)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--sheet", metavar="PATH", help="also write a contact sheet (.html or .png) when done")
    sub = p.add_subparsers(dest="pairs_command", metavar="{export,sheet}")
    e = sub.add_parser("export", help="export a pair dataset for trl / diffusers / VideoDPO")
    e.add_argument("--format", required=True, choices=("trl", "pickapic", "videodpo", "records"))
    e.add_argument("--input", required=True, help="a pair dataset folder (the job's output)")
    e.add_argument("--output", required=True,
                   help="a .jsonl / .json / .parquet file, or a folder without a suffix (datasets.save_to_disk)")
    e.add_argument("--shuffle-seed", type=int, default=None,
                   help="pickapic: put the chosen image at jpg_0 or jpg_1 at random under this seed")
    s = sub.add_parser("sheet", help="a contact sheet of chosen vs rejected with scores (HTML or PNG)")
    s.add_argument("--input", required=True, help="a pair dataset folder")
    s.add_argument("--output", required=True, help="sheet.html or sheet.png")
    s.add_argument("--sample", type=int, default=8, help="how many prompts to show (default 8)")
    s.add_argument("--seed", type=int, default=0, help="which prompts to sample")
    s.add_argument("--include-dropped", action="store_true", help="also show dropped prompts and why")
    return p


def print_summary(summary: dict[str, Any], out=None) -> None:
    out = out or sys.stdout
    w = out.write
    w(f"prompts seen     {summary['prompts_seen']} / {summary['prompts_total']}\n")
    w(f"pairs kept       {summary['pairs_kept']}\n")
    dropped = summary["dropped"]
    w(f"dropped          {sum(dropped.values())}\n")
    for reason, count in dropped.items():
        w(f"  {reason:<22} {count}\n")
    failures = summary["parse_failures"]
    for mode, total in (("pairwise", summary["verdicts"]), ("pointwise", summary["scores"])):
        by = failures[mode]
        detail = ", ".join(f"{k} {v}" for k, v in by.items())
        w(f"parse failures   {mode}: {sum(by.values())} of {total}" + (f" ({detail})" if detail else "") + "\n")
    if "media_cache" in summary:
        mc = summary["media_cache"]
        w(f"media cache      {mc['misses']} decoded, {mc['hits']} reused\n")


def _export(args) -> int:
    import warnings

    from ..pairs.export import EmptyExportWarning, check_output_path, save, to_dataset

    check_output_path(args.output)  # a suffix no export is written in is refused before any work
    options = {"shuffle_seed": args.shuffle_seed} if args.format == "pickapic" else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EmptyExportWarning)
        dataset = to_dataset(args.input, args.format, **options)
    for warning in caught:
        if issubclass(warning.category, EmptyExportWarning):
            print(f"unireward pairs export: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    path = save(dataset, args.output)
    print(f"wrote {args.format} export to {path} ({dataset.num_rows} pairs)")
    return 0


def run(args) -> int:
    if args.pairs_command == "export":
        return _export(args)
    if args.pairs_command == "sheet":
        from ..pairs.sheet import write_sheet

        path = write_sheet(args.input, args.output, sample=args.sample, seed=args.seed,
                           include_dropped=args.include_dropped)
        print(f"wrote contact sheet {path}")
        return 0
    if not args.config:
        print("unireward pairs: give --config FILE.toml (or a subcommand: export, sheet)", file=sys.stderr)
        return 2
    from ..pairs import PairJob, PairJobConfig

    config = PairJobConfig.from_toml(args.config)
    job = PairJob(config)
    summary = job.run(resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress and config.progress)
    if job.rank == 0:
        print_summary(summary)
        print(f"output           {config.output}")
        if args.sheet:
            from ..pairs.sheet import write_sheet

            print(f"contact sheet    {write_sheet(config.output, args.sheet)}")
    return 0
