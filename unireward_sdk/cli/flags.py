"""Command-line flag values shared by the commands (no torch here)."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ConfigError


def key_values(pairs: list[str], *, flag: str, who: str, example: str) -> dict[str, Any]:
    """Repeated ``FLAG KEY=VALUE`` values as a dict; VALUE is read as JSON when it parses, else kept as text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {pair!r} is not KEY=VALUE", who=who, fix=f"Write it as {flag} {example}")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out
