"""``unireward demo``: run the paper's whole method on the built-in synthetic world, on a CPU.

    unireward demo                      # quick profile (about 3 minutes on 2 CPU cores), report in ./demo-report
    unireward demo --profile full       # more data, longer training, several seeds
    unireward demo --rebuild-checkpoints  # regenerate the shipped testbed models first (tens of minutes)
"""

from __future__ import annotations

import argparse

PROFILES = ("quick", "full", "smoke")


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "demo", help="run the whole method on the synthetic testbed and measure it against ground truth",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=PROFILES, default="quick",
                        help="quick: about 3 minutes on 2 CPU cores; full: tighter intervals; smoke: plumbing only")
    parser.add_argument("--out", default="demo-report", help="report folder (default: ./demo-report)")
    parser.add_argument("--seed", type=int, default=0, help="base seed of data, sampling and training")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: the cores, at most 4, or 1 when the machine is already busy)")
    parser.add_argument("--checkpoints", default=None,
                        help="folder of testbed checkpoints (default: the ones shipped with the package)")
    parser.add_argument("--rebuild-checkpoints", action="store_true",
                        help="regenerate the testbed checkpoints (into --checkpoints or the package) before running")
    parser.add_argument("--quiet", action="store_true", help="no progress or tables; results.json is still written")
    return parser


def run(args) -> int:
    from unireward_builtins.testbed.demo import run_demo

    if args.rebuild_checkpoints:
        from unireward_builtins.testbed.build import build

        build(args.checkpoints)
    results = run_demo(args.profile, args.out, seed=args.seed, checkpoints=args.checkpoints, threads=args.threads,
                       quiet=args.quiet)
    failed = [s["name"] for s in results.get("stages", []) if s["status"] == "failed"]
    return 1 if failed else 0
