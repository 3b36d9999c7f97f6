"""Typed option schemas that components declare on their specs, and the one validator the registry uses.

A head, backend, filter or aligner lists what a user may set on it::

    FilterSpec(name="length_margin", factory=LengthMargin, options=(
        Option("min_gap", float, default=0.1, help="drop pairs whose length gap is smaller"),
    ))

``unireward plugins --options length_margin`` prints the table; a job config's ``options = {...}`` for
that component is checked against it (unknown keys get a did-you-mean, wrong types a clear error) before
any work starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrs import field, frozen

from .errors import ConfigError, did_you_mean


class _Required:
    """Marker default: the option has no default and must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


def _types(value: Any) -> tuple[type, ...]:
    if isinstance(value, type):
        return (value,)
    return tuple(value)


@frozen
class Option:
    """One option of a component.

    ``type`` is a Python type or a tuple of them (``(str, type(None))`` for an optional string);
    ``choices`` restricts the value; ``default`` is :data:`REQUIRED` when the user must give one.
    """

    name: str
    type: tuple[type, ...] = field(default=(str,), converter=_types)
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] = field(default=(), converter=tuple)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def type_name(self) -> str:
        names = [t.__name__ if t is not type(None) else "None" for t in self.type]
        return " | ".join(names)

    def check(self, value: Any, who: str) -> Any:
        """The value, validated (an int is accepted where a float is expected)."""
        accepted = self.type
        if float in accepted and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        # True is an int to Python, never to a config
        wrong_bool = isinstance(value, bool) and bool not in accepted
        if wrong_bool or not isinstance(value, accepted):
            raise ConfigError(
                f"option '{self.name}' must be {self.type_name()}, got {type(value).__name__} {value!r}",
                who=who, fix=f"Give '{self.name}' a {self.type_name()} value ({self.help or 'see its help'})",
            )
        if self.choices and value not in self.choices:
            raise ConfigError(
                f"option '{self.name}' must be one of {', '.join(map(repr, self.choices))}, not {value!r}",
                who=who, fix=f"Set '{self.name}' to one of {', '.join(map(repr, self.choices))}",
            )
        return value

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type_name(),
            "default": None if self.required else self.default,
            "required": self.required,
            "choices": list(self.choices),
            "help": self.help,
        }


def validate_options(schema: Sequence[Option], given: Mapping[str, Any], *, who: str,
                     fill_defaults: bool = False) -> dict[str, Any]:
    """``given`` checked against ``schema``: unknown keys (with a did-you-mean), types, choices, required.

    With ``fill_defaults`` the result also holds every option's default, so it is the complete settings.
    """
    by_name = {option.name: option for option in schema}
    unknown = [key for key in given if key not in by_name]
    if unknown:
        hints = "".join(did_you_mean(key, by_name) for key in unknown)
        known = ", ".join(by_name) or "none"
        raise ConfigError(f"unknown option(s) {', '.join(map(repr, unknown))}.{hints}", who=who,
                          fix=f"Known options: {known} (`unireward plugins --options NAME` describes them)")
    out: dict[str, Any] = {}
    for option in schema:
        if option.name in given:
            out[option.name] = option.check(given[option.name], who)
        elif option.required:
            raise ConfigError(f"option '{option.name}' is required", who=who,
                              fix=f"Set '{option.name}' ({option.type_name()}): {option.help or 'no help given'}")
        elif fill_defaults:
            out[option.name] = option.default
    return out
