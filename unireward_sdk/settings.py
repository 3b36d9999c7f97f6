"""Environment switches for plugin loading, read in exactly one place.

- ``UNIREWARD_LOAD_PLUGINS``: comma-separated allow-list of entry-point names. Set but empty: no
  third-party plugins at all. Unset: all of them.
- ``UNIREWARD_DISABLE_PLUGINS``: comma-separated block-list of entry-point names.
- ``UNIREWARD_STRICT_PLUGINS=1``: any load failure or name conflict raises instead of being recorded.

Built-in plugins are always loaded; these switches govern third-party ones.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from attrs import field, frozen

LOAD_VAR = "UNIREWARD_LOAD_PLUGINS"
DISABLE_VAR = "UNIREWARD_DISABLE_PLUGINS"
STRICT_VAR = "UNIREWARD_STRICT_PLUGINS"
ENV_VARS = (LOAD_VAR, DISABLE_VAR, STRICT_VAR)


def _names(value: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in value.split(",") if n.strip())


def _name_tuple(value) -> tuple[str, ...]:
    # a bare string is one comma-separated list, not a sequence of one-letter names
    return _names(value) if isinstance(value, str) else tuple(value)


def _optional_names(value) -> tuple[str, ...] | None:
    return None if value is None else _name_tuple(value)


@frozen
class PluginSettings:
    """What the host loads. ``load=None`` means every discovered third-party plugin."""

    load: tuple[str, ...] | None = field(default=None, converter=_optional_names)
    disable: tuple[str, ...] = field(default=(), converter=_name_tuple)
    strict: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PluginSettings:
        env = os.environ if environ is None else environ
        load = env.get(LOAD_VAR)
        return cls(
            load=None if load is None else _names(load),
            disable=_names(env.get(DISABLE_VAR, "")),
            strict=env.get(STRICT_VAR, "").strip().lower() in {"1", "true", "yes", "on"},
        )

    def allows(self, entry_point_name: str) -> tuple[bool, str]:
        """Whether a third-party entry point may load, and if not, which switch stopped it."""
        if entry_point_name in self.disable:
            return False, f"blocked by {DISABLE_VAR}"
        if self.load is not None and entry_point_name not in self.load:
            return False, f"not in {LOAD_VAR}"
        return True, ""
