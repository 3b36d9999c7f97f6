"""Loading a saved policy by the name of its aligner, for the commands that use one without training it.

``unireward sample`` and ``unireward align --evaluate --policy DIR`` name no aligner class: the registry
builds the aligner (``registry.aligner(name, config=...)``) from the settings the policy was saved with
(the ``config`` of its ``unireward_policy.json``), as each aligner's ``from_pretrained`` does. A folder
without that file is any model the aligner can start from (a base checkpoint); its aligner must be named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ModelLoadError

POLICY_FILE = "unireward_policy.json"
"""Written by every aligner's ``save_pretrained``: which aligner, which base model, adapter or full."""

# settings that describe where the saved policy came from, not how to use it: the folder itself is the model
# now, and an aligner that tracks a reference reads it from the policy file
_NOT_CARRIED = ("model", "ref_model", "resume_from_checkpoint")


def policy_info(path: str | Path) -> dict[str, Any] | None:
    """The ``unireward_policy.json`` of a saved policy, or None for a folder without one (or a hub id)."""
    file = Path(path) / POLICY_FILE
    if not file.is_file():
        return None
    try:
        info = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"unreadable policy file ({exc})", who=str(file),
                             fix="Restore the file from the saved policy (valid JSON), or save the policy again") from exc
    if not isinstance(info, dict):
        raise ModelLoadError("the policy file is not a JSON object", who=str(file),
                             fix="Save the policy again with the aligner that trained it")
    return info


def policy_aligner(path: str | Path, aligner: str | None = None) -> str:
    """The registry name of the aligner for ``path``: the one its policy file names, or ``aligner``."""
    info = policy_info(path)
    saved = info.get("aligner") if info else None
    if aligner and saved and aligner != saved:
        raise ConfigError(f"this policy was saved by '{saved}', not '{aligner}'", who=str(path),
                          fix=f"Leave --aligner out (the policy file names '{saved}') or point at another policy")
    if aligner or saved:
        return str(aligner or saved)
    raise ConfigError("no unireward_policy.json here, so the aligner is not known", who=str(path),
                      fix="Name it with --aligner (`unireward plugins` lists them), or point at a folder that "
                          "`unireward align` saved")


def load_policy(path: str | Path, aligner: str | None = None, *, registry: Any = None, **overrides: Any) -> Any:
    """The aligner for the policy at ``path``, with its saved settings and ``overrides`` on top."""
    if registry is None:
        from ..registry import get_registry

        registry = get_registry()
    name = policy_aligner(path, aligner)
    registry.aligner_spec(name)  # an unknown name fails here with a did-you-mean, before anything loads
    info = policy_info(path) or {}
    saved = {k: v for k, v in dict(info.get("config") or {}).items() if k not in _NOT_CARRIED}
    return registry.aligner(name, config={**saved, **overrides, "model": str(path)})
