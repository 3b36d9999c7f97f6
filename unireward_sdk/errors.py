"""The SDK's error hierarchy: one root, and messages that say who, what, and one fix.

Every error carries an optional ``who`` (plugin, distribution, version, file...) and ``fix`` so a
caller can show a complete sentence without string surgery.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UniRewardError(Exception):
    """Root of every error the SDK raises on purpose."""

    def __init__(self, what: str, *, who: str | None = None, fix: str | None = None):
        self.what = what
        self.who = who
        self.fix = fix
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = f"{self.who}: {self.what}" if self.who else self.what
        if self.fix:
            text += f" {self.fix}" if text.endswith((".", "?", "!")) else f". {self.fix}"
        return text


class ConfigError(UniRewardError):
    """A pipeline or job configuration is invalid."""


class PluginError(UniRewardError):
    """A plugin could not be loaded, validated or used."""


class PluginLoadError(PluginError):
    """Raised in strict mode when a plugin fails to load."""


class ConflictError(PluginError):
    """Two or more plugins provide the same component name."""


class UnknownComponentError(PluginError, LookupError):
    """A component name that no loaded plugin provides."""


class CapabilityError(ConfigError):
    """A component does not support what it was asked to do (task, mode, modality)."""


class InputErrors(ConfigError):
    """Several problems with one job's input, found in one pass (every line, every file) and reported
    together, so a user fixes them all before the next run. ``problems`` holds each one as its own error."""

    def __init__(self, problems: Iterable[UniRewardError], *, who: str | None = None, fix: str | None = None):
        self.problems = tuple(problems)
        listed = "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problems in the input{listed}\n", who=who, fix=fix)

    def _compose(self) -> str:
        text = f"{self.who}: {self.what}" if self.who else self.what
        return text + (self.fix or "")


def raise_all(problems: Iterable[UniRewardError], *, who: str | None = None,
              fix: str = "Fix every problem listed, then run again") -> None:
    """Raise nothing (no problem), the one problem as it is, or every problem at once as :class:`InputErrors`."""
    found = list({str(p): p for p in problems}.values())  # the same message twice (one file twice) once
    if len(found) == 1:
        raise found[0]
    if found:
        raise InputErrors(found, who=who, fix=fix)


class MediaError(UniRewardError):
    """A media file is missing, corrupt, truncated or unsupported."""


class TemplateError(UniRewardError):
    """A prompt template is unknown or cannot be rendered with the given slots."""


class ModelLoadError(UniRewardError):
    """A judge or policy model could not be loaded."""


class BackendUnavailableError(UniRewardError):
    """The judge's backend itself cannot be reached (refused connection, no answer within the timeout, a
    gateway with nothing behind it), after any retries: no fault of the item it was asked about.

    A backend raises it (or a subclass) so the heads record :data:`~unireward_sdk.records.ParseStatus.BACKEND_UNAVAILABLE`
    rather than a plain ``backend_error``, and a pair job whose whole batch got nothing else stops without
    committing it, to be resumed once the backend is back (see :mod:`unireward_sdk.pairs.runner`)."""


class MissingDependencyError(UniRewardError, ImportError):
    """An optional dependency needed by a component is not installed."""


# exit statuses of the `unireward` commands: 2 for input the command refuses before doing any work (the
# same status argparse gives a bad flag), 1 for a run that fails or in which no item succeeded
EXIT_USAGE = 2
EXIT_FAILED = 1


def exit_status(exc: UniRewardError) -> int:
    """The exit status for an error that ends a command: :data:`EXIT_USAGE` for bad input (an invalid
    configuration, an unknown component or template), :data:`EXIT_FAILED` for everything else."""
    usage = (ConfigError, UnknownComponentError, TemplateError)
    return EXIT_USAGE if isinstance(exc, usage) else EXIT_FAILED


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' hint, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def require(module: str, *, extra: str, purpose: str):
    """Import an optional dependency or raise 'install X to use Y'."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{purpose} needs the '{module}' package ({exc})",
            fix=f"Install it with: pip install 'unireward-sdk[{extra}]'",
        ) from exc
