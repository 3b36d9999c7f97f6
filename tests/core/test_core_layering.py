"""The core names no built-in: only the host's list of built-ins mentions ``unireward_builtins``, and no
core module spells out a built-in component's own options (those belong to its spec's schema)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from unireward_sdk import get_registry

CORE = Path(__file__).resolve().parents[2] / "unireward_sdk"
# the one place the core may name built-ins: the list the host loads them from
ALLOWED = {CORE / "host.py"}


def _core_modules() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if p not in ALLOWED)


def test_only_the_host_names_the_builtin_package():
    offenders = [str(p.relative_to(CORE)) for p in _core_modules() if "unireward_builtins" in p.read_text("utf-8")]
    assert not offenders, f"core modules naming unireward_builtins: {offenders}"


def _builtin_specific_options() -> dict[str, set[str]]:
    """component -> the options it declares that not every built-in of its kind declares."""
    host = get_registry().host
    out: dict[str, set[str]] = {}
    for kind, names in host.components().items():
        builtin = [p.spec for providers in names.values() for p in providers
                   if p.plugin.builtin and p.spec.options is not None]
        if not builtin:
            continue
        shared = set.intersection(*({o.name for o in spec.options} for spec in builtin))
        for spec in builtin:
            specific = {o.name for o in spec.options} - shared
            if len(specific) >= 2:
                out[f"{kind} '{spec.name}'"] = specific
    return out


def _hand_written_options(path: Path, specific: dict[str, set[str]]) -> list[str]:
    """Dict literals and keyword calls whose keys (two or more) are all one built-in's own options."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        elif isinstance(node, ast.Call):
            keys = {k.arg for k in node.keywords if k.arg}
        else:
            continue
        if len(keys) < 2:
            continue
        for component, options in specific.items():
            if keys <= options:
                found.append(f"{path.relative_to(CORE)}:{node.lineno} spells out {component}'s options {sorted(keys)}")
    return found


def test_no_core_module_spells_out_a_builtins_options():
    specific = _builtin_specific_options()
    if not specific:
        pytest.skip("no built-in declares component-specific options")
    offenders = [hit for path in _core_modules() for hit in _hand_written_options(path, specific)]
    assert not offenders, "\n".join(offenders)
