"""The ``unireward`` command line. Each subcommand is one module with ``add_parser`` and ``run``.

To add a subcommand, write ``unireward_sdk/cli/<name>.py`` with::

    def add_parser(subparsers) -> argparse.ArgumentParser: ...
    def run(args) -> int: ...

and list the module in :data:`COMMANDS`. Heavy imports belong inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import UniRewardError

COMMANDS: tuple[str, ...] = (
    "plugins",
    "templates",
    "parse",
    "score",
    "eval",
    "train-judge",
    "pairs",
    "align",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="unireward", description="UniReward SDK: unified multimodal reward models.")
    parser.add_argument("--version", action="version", version=f"unireward-sdk {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
        except Exception as exc:  # noqa: BLE001 - one broken command must not take `unireward plugins` down
            sub = subparsers.add_parser(name, help=f"(unavailable: {type(exc).__name__})")
            sub.set_defaults(_run=_unavailable(name, exc))
            continue
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def _unavailable(name: str, exc: Exception):
    def run(_args) -> int:
        print(f"unireward {name}: this command could not be loaded ({type(exc).__name__}: {exc}). "
              "Reinstall unireward-sdk", file=sys.stderr)
        return 1

    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UniRewardError as exc:
        print(f"unireward {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"unireward {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
