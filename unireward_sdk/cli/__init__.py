"""The ``unireward`` command line: the SDK's own subcommands, then those plugins contribute.

An SDK subcommand is one module here with ``add_parser`` and ``run``, listed in :data:`COMMANDS`.
A plugin adds one through the ``unireward_register_commands`` hook (a :class:`~unireward_sdk.specs.CommandSpec`),
loaded with the host's per-plugin isolation: a command that cannot be set up is shown as unavailable
with its reason, and every other command still works. Heavy imports belong inside ``run`` / the factory.

Every command runs inside :func:`~unireward_sdk.quiet.quiet_libraries`: third-party progress bars, logging
and known warnings are silenced unless ``--verbose`` is given (before or after the command name).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import UniRewardError

VERBOSE_HELP = "show the libraries' own progress bars, log messages and warnings (silenced by default)"

COMMANDS: tuple[str, ...] = (
    "plugins",
    "templates",
    "parse",
    "score",
    "eval",
    "train-judge",
    "pairs",
    "align",
)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="unireward", description="UniReward SDK: unified multimodal reward models.")
    parser.add_argument("--version", action="version", version=f"unireward-sdk {__version__}")
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
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
        _accept_verbose(sub)
    _add_plugin_commands(subparsers)
    return parser


def _add_plugin_commands(subparsers) -> None:
    """Subcommands from the ``unireward_register_commands`` hook; a broken one never breaks the CLI."""
    try:
        from ..registry import get_registry

        host = get_registry().host
        commands = host.components().get("command", {})
    except Exception:  # noqa: BLE001 - without plugins the SDK's own commands must still run
        return
    for name in sorted(commands):
        providers = host.resolve("command", name)
        who = ", ".join(p.describe() for p in providers)
        if name in COMMANDS:  # the SDK's command keeps working; say once why the plugin's is ignored
            print(f"unireward: ignoring command '{name}' of {who}: an SDK command has that name. "
                  "Rename the plugin's command", file=sys.stderr)
            continue
        if len(providers) > 1:
            reason = f"command '{name}' is provided by {len(providers)} plugins: {who}"
            _unavailable_parser(subparsers, name, reason, "Uninstall or disable all but one")
            continue
        spec = providers[0].spec
        sub = subparsers.add_parser(name, help=spec.summary, description=spec.description or spec.summary,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        try:
            if spec.configure is not None:
                spec.configure(sub)
        except Exception as exc:  # noqa: BLE001 - a plugin's argument setup is isolated like its import
            subparsers._name_parser_map.pop(name, None)
            subparsers._choices_actions[:] = [a for a in subparsers._choices_actions if a.dest != name]
            reason = f"{who} failed to set up command '{name}': {type(exc).__name__}: {exc}"
            _unavailable_parser(subparsers, name, reason, f"Fix or disable {providers[0].plugin.name}")
            continue
        sub.set_defaults(_run=spec.factory)
        _accept_verbose(sub)


def _accept_verbose(parser: argparse.ArgumentParser) -> None:
    """``--verbose`` after the command name too (and after a nested one), unless the command has its own."""
    if "--verbose" not in parser._option_string_actions:
        # SUPPRESS: given only before the command name, the top-level value is kept
        parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                _accept_verbose(nested)


def _unavailable_parser(subparsers, name: str, reason: str, fix: str) -> None:
    sub = subparsers.add_parser(name, help="(unavailable: see `unireward NAME`)", add_help=True)
    sub.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(_args) -> int:
        print(f"unireward {name}: this command is unavailable: {reason}. {fix}", file=sys.stderr)
        return 1

    sub.set_defaults(_run=run)


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
    from ..quiet import quiet_libraries

    try:
        with quiet_libraries(verbose=bool(getattr(args, "verbose", False))):
            return int(args._run(args) or 0)
    except UniRewardError as exc:
        print(f"unireward {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"unireward {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
