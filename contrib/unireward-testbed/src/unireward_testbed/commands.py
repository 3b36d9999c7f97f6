"""The testbed's command line, contributed to ``unireward`` through the ``unireward_register_commands`` hook.

    unireward demo [--profile quick|full|smoke] [--out DIR] [--seed N] ...   the whole method, measured
    unireward testbed build [--out DIR] [--verify] [--only NAME...] [--scale X]   rebuild the checkpoints
    unireward testbed probe perception | verification | oracle-pairs ...      the probes behind docs/testbed.md

Setting up the arguments is cheap (nothing heavier than the checkpoint list is imported), because
``unireward`` sets up every plugin's command to list them; each ``run_*`` imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import checkpoints as C

# the names of demo.PROFILES and probes.ATTRIBUTES, repeated here so that listing commands imports neither
# (a test keeps them equal)
PROFILE_NAMES = ("quick", "full", "smoke")
PROBE_ATTRIBUTES = ("colour", "position", "shape")

DEMO_SUMMARY = "run the whole method on the synthetic testbed and measure it against ground truth"
DEMO_DESCRIPTION = """\
Run the paper's whole method on the testbed's synthetic world, on a CPU, and measure every figure against
the world's ground truth.

    unireward demo                      # quick profile (3 to 5 minutes on 2 CPU cores), report in ./demo-report
    unireward demo --profile full       # more data, longer training, several seeds
    unireward demo --rebuild-checkpoints  # regenerate the shipped testbed models first (tens of minutes)
"""
TESTBED_SUMMARY = "build the testbed's checkpoints, or run the probes behind its documented figures"
BUILD_DESCRIPTION = """\
Regenerate the testbed's shipped checkpoints (base_vlm, qa_policy, t2i_policy, judge) on the CPU with one
thread and fixed seeds: with the manifest's library versions the files come out byte for byte the same.

    unireward testbed build                          # rebuild into the package folder (tens of minutes)
    unireward testbed build --out /tmp/tb --verify   # rebuild elsewhere, compare with the shipped hashes
    unireward testbed build --only judge --scale 0.1 # some models, fewer steps (not comparable)
"""
PROBE_DESCRIPTION = """\
Probes behind the figures in docs/testbed.md: what the tiny models perceive, whether they learn to compare
a caption with pixels, and how far Diffusion-DPO moves the text-to-image policy on perfect pairs. Each
prints one JSON object; none is part of the demo.

    unireward testbed probe perception [--checkpoint DIR]
    unireward testbed probe verification --attributes colour [--steps 300] [--checks]
    unireward testbed probe oracle-pairs [--prompts 48 --max-steps 150 --beta 500]
    unireward testbed probe learnability [--video] [--steps 60]   # SFT on true renders, per attribute
    unireward testbed probe qa-oracle-pairs [--prompts 64] [--lora]  # QA DPO on right-vs-wrong answers
"""


def configure_demo(parser: argparse.ArgumentParser) -> None:
    """The options of ``unireward demo``."""
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="quick",
                        help="quick: 3 to 5 minutes on 2 CPU cores; full: tighter intervals; smoke: plumbing only")
    parser.add_argument("--out", default="demo-report", help="report folder (default: ./demo-report)")
    parser.add_argument("--seed", type=int, default=0, help="base seed of data, sampling and training")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: the cores, at most 4, or 1 when the machine is already busy)")
    parser.add_argument("--checkpoints", default=None,
                        help="folder of testbed checkpoints (default: the ones shipped with the package)")
    parser.add_argument("--rebuild-checkpoints", action="store_true",
                        help="regenerate the testbed checkpoints (into --checkpoints or the package) before running")
    parser.add_argument("--quiet", action="store_true", help="no progress or tables; results.json is still written")


def run_demo(args: argparse.Namespace) -> int:
    """``unireward demo``: exit status 1 if any stage failed."""
    from .demo import run_demo as run

    if args.rebuild_checkpoints:
        from .build import build

        build(args.checkpoints)
    results = run(args.profile, args.out, seed=args.seed, checkpoints=args.checkpoints, threads=args.threads,
                  quiet=args.quiet)
    failed = [s["name"] for s in results.get("stages", []) if s["status"] == "failed"]
    return 1 if failed else 0


def configure_testbed(parser: argparse.ArgumentParser) -> None:
    """``unireward testbed build`` and ``unireward testbed probe PROBE``."""
    sub = parser.add_subparsers(dest="testbed_command", metavar="{build,probe}", required=True)
    build = sub.add_parser("build", help="regenerate the shipped checkpoints (tens of minutes on 2 cores)",
                           description=BUILD_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    configure_build(build)
    build.set_defaults(_testbed_run=run_build)
    probe = sub.add_parser("probe", help="the probes behind docs/testbed.md; each prints one JSON object",
                           description=PROBE_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    configure_probe(probe)
    probe.set_defaults(_testbed_run=run_probe)


def run_testbed(args: argparse.Namespace) -> int:
    return args._testbed_run(args)


def configure_build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="where to write (default: the package's checkpoints/ folder)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every step count (default 1)")
    parser.add_argument("--only", nargs="+", choices=C.NAMES, default=list(C.NAMES))
    parser.add_argument("--verify", action="store_true", help="after building, compare with the shipped manifest")


def run_build(args: argparse.Namespace) -> int:
    """Build; with ``--verify``, exit status 1 when a file differs from the shipped manifest."""
    from .build import build

    shipped = C.read_manifest()  # read before building: without --out the build overwrites the shipped files
    root = build(args.out, scale=args.scale, only=tuple(args.only))
    if args.verify:
        built = C.read_manifest(root)
        if shipped is None:
            print("no shipped manifest to compare with", file=sys.stderr)
            return 1
        differ = differing_files(shipped["files"], built["files"], args.only)
        if differ:
            print(f"{len(differ)} file(s) differ from the shipped checkpoints: {', '.join(differ[:8])}",
                  file=sys.stderr)
            return 1
        print("every file matches the shipped checkpoints")
    return 0


def differing_files(shipped: dict[str, str], built: dict[str, str], names: list[str] | tuple[str, ...]
                    ) -> list[str]:
    """The files of the checkpoints ``names`` whose hash differs between two manifests, or that only one of
    them has. Only the models that were built are compared: ``--only t2v_policy --out DIR`` writes no other
    model into DIR, and the ones it did not build are not a difference."""
    ours = set(names)
    paths = {p for p in (*shipped, *built) if p.split("/", 1)[0] in ours}
    return sorted(p for p in paths if shipped.get(p) != built.get(p))


def configure_probe(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="probe", required=True)
    p = sub.add_parser("perception", help="per-attribute question accuracy and caption verification")
    p.add_argument("--checkpoint", default=None, help="a VLM folder (default: the shipped base_vlm)")
    p.add_argument("--scenes", type=int, default=60)
    v = sub.add_parser("verification", help="fine-tune on caption verification, print the loss by phase")
    v.add_argument("--checkpoint", default=None, help="a VLM folder (default: the shipped base_vlm)")
    v.add_argument("--attributes", nargs="+", choices=PROBE_ATTRIBUTES, default=list(PROBE_ATTRIBUTES))
    v.add_argument("--steps", type=int, default=300)
    v.add_argument("--lr", type=float, default=1e-3)
    v.add_argument("--checks", action="store_true", help="write the annotator's checks before yes / no")
    v.add_argument("--out", default=None, help="keep the fine-tuned model here")
    o = sub.add_parser("oracle-pairs", help="Diffusion-DPO on the oracle's best-vs-worst pairs")
    o.add_argument("--policy", default=None, help="a text-to-image folder (default: the shipped t2i_policy)")
    o.add_argument("--prompts", type=int, default=24)
    o.add_argument("--max-steps", type=int, default=None)
    o.add_argument("--learning-rate", type=float, default=None)
    o.add_argument("--beta", type=float, default=None)
    q = sub.add_parser("qa-oracle-pairs", help="QA DPO (the demo's settings) on right-vs-wrong sampled answers")
    q.add_argument("--policy", default=None, help="a question-answering VLM folder (default: the shipped qa_policy)")
    q.add_argument("--prompts", type=int, default=64, help="training questions per task")
    q.add_argument("--eval", type=int, default=96, help="held-out questions per task")
    q.add_argument("--max-steps", type=int, default=None)
    q.add_argument("--learning-rate", type=float, default=None)
    q.add_argument("--lora", action="store_true",
                   help="train LoRA adapters (vlm_dpo's default targets, r 8) instead of every weight")
    q.add_argument("--seed", type=int, default=0)
    g = sub.add_parser("learnability", help="SFT on true renders: does every attribute improve? (the policy gate)")
    g.add_argument("--policy", default=None, help="a diffusion policy folder (default: the shipped one)")
    g.add_argument("--video", action="store_true", help="the text-to-video policy instead of text-to-image")
    g.add_argument("--steps", type=int, default=60)
    g.add_argument("--samples", type=int, default=2, help="samples per held-out caption")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")


def run_probe(args: argparse.Namespace) -> int:
    """Run one probe and print its JSON result."""
    import torch

    from .probes import learnability, oracle_pairs, perception, qa_oracle_pairs, verification

    torch.set_num_threads(args.threads)
    if args.probe == "perception":
        result = perception(args.checkpoint or C.require("base_vlm"), scenes=args.scenes)
    elif args.probe == "verification":
        result = verification(args.checkpoint or C.require("base_vlm"), args.attributes, steps=args.steps,
                              lr=args.lr, checks=args.checks, out=args.out)
    elif args.probe == "learnability":
        policy = args.policy or C.require("t2v_policy" if args.video else "t2i_policy")
        result = learnability(policy, video=args.video, steps=args.steps, samples=args.samples)
    elif args.probe == "qa-oracle-pairs":
        options = {k: v for k, v in (("max_steps", args.max_steps), ("learning_rate", args.learning_rate))
                   if v is not None}
        if args.lora:
            options["lora"] = True
        result = qa_oracle_pairs(args.policy or C.require("qa_policy"), prompts=args.prompts,
                                 eval_questions=args.eval, options=options, seed=args.seed)
    else:
        options = {k: v for k, v in (("max_steps", args.max_steps), ("learning_rate", args.learning_rate),
                                     ("beta", args.beta)) if v is not None}
        result = oracle_pairs(args.policy or C.require("t2i_policy"), prompts=args.prompts, options=options)
    print(json.dumps(result, indent=2))
    return 0

