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
import os
import sys
from collections.abc import Sequence

from ..errors import EXIT_FAILED, EXIT_USAGE, UniRewardError, exit_status

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
    "sample",
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


def items_status(total: int, failed: int, *, fail_on_error: bool = False) -> int:
    """Exit status of a command that judged ``total`` items of which ``failed`` failed: 1 when none succeeded
    (or, with ``--fail-on-error``, when any failed), else 0."""
    if total and failed >= total:
        return EXIT_FAILED
    return EXIT_FAILED if fail_on_error and failed else 0


def add_fail_on_error(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fail-on-error", action="store_true",
                        help="exit with status 1 when any item fails (default: only when every item fails)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Exit status: 0 done; 1 failed (or, for ``score`` / ``eval``, no item succeeded);
    2 bad usage (a flag, a configuration, a name or an input file refused before any work); 130 interrupted;
    141 when the reader of stdout went away (``unireward templates | head``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_USAGE
    from ..quiet import quiet_libraries

    try:
        with quiet_libraries(verbose=bool(getattr(args, "verbose", False))):
            status = int(args._run(args) or 0)
            sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not as a traceback at exit
        return status
    except UniRewardError as exc:
        print(f"unireward {args.command}: error: {exc}", file=sys.stderr)
        return exit_status(exc)
    except BrokenPipeError:
        return _stdout_closed()
    except KeyboardInterrupt:
        print(f"unireward {args.command}: interrupted.{_resume_hint(args)}", file=sys.stderr)
        return 130


def _stdout_closed() -> int:
    """The reader of stdout stopped early (``| head``): that is its right, not an error worth a traceback.

    stdout is pointed at the null device so the interpreter's final flush does not fail a second time.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (captured): nothing left to flush
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a tool that a closed pipe stopped


def _resume_hint(args) -> str:
    """For a job that can continue where it stopped (a command with ``--resume``, run on a ``--config``):
    how to pick it up. Subcommands without a job (``pairs export``) get no hint."""
    if not hasattr(args, "resume") or not getattr(args, "config", None):
        return ""
    return (" The work committed so far is kept; run the same command again with --resume to continue "
            "from there")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
