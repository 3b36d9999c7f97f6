"""Every error the SDK raises on purpose says what went wrong and one fix (the core issue's error contract).

Checked on the source, so an error path that no test reaches is held to the rule too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from unireward_sdk.errors import ConfigError, UniRewardError

REPO = Path(__file__).resolve().parents[2]
# and the project's testbed, now its own distribution in contrib/ (its CheckpointError is held to the rule)
SOURCES = sorted([*(REPO / "unireward_sdk").rglob("*.py"), *(REPO / "plugins").rglob("*.py"),
                  *(REPO / "contrib" / "unireward-testbed" / "src").rglob("*.py")])


def _error_classes() -> set[str]:
    """Names of the SDK's error classes: the root's subclasses, found in the source (plugins define some)."""
    names = {"UniRewardError"}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                names.add(node.name)
    return names


def _raises_without_fix() -> list[str]:
    errors = _error_classes()
    missing = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = node.exc if isinstance(node, ast.Raise) else None
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in errors):
                continue
            keywords = {k.arg for k in call.keywords}
            if "fix" not in keywords and None not in keywords:  # None: **options passes one through
                missing.append(f"{path.relative_to(REPO)}:{node.lineno} {call.func.id}")
    return missing


def test_the_scan_sees_the_error_classes():
    names = _error_classes()
    assert {"ConfigError", "MediaError", "StoreError", "CheckpointError"} <= names


def test_every_raised_sdk_error_carries_a_fix():
    missing = _raises_without_fix()
    assert not missing, "raise sites without fix=:\n" + "\n".join(missing)


@pytest.mark.parametrize("who, expected", [
    (None, "the batch size is 0. Set batch_size to 1 or more"),
    ("pairs.toml", "pairs.toml: the batch size is 0. Set batch_size to 1 or more"),
])
def test_message_reads_who_what_fix(who, expected):
    error = ConfigError("the batch size is 0", who=who, fix="Set batch_size to 1 or more")
    assert str(error) == expected and isinstance(error, UniRewardError)
    assert (error.who, error.what, error.fix) == (who, "the batch size is 0", "Set batch_size to 1 or more")
