"""What a pair job checks before it loads a model or writes a byte, every problem reported at once.

- the judge's ``model``, by its shape only: a local path must be an existing folder, anything else must read as
  a hub id (``name`` or ``namespace/name``); whether the hub has it is the backend's to find out when it loads;
- every manifest line and every media file in it (existence, and the file's modality against the task), through
  :mod:`unireward_sdk.ingest`, each problem named ``file:line``;
- ``n`` against the candidates of every line;
- the output folder: a pair dataset there needs ``--resume`` (for the same job) or ``--overwrite``; a folder
  holding anything else is never written into.

The config itself (keys, types, the head, task, templates and filters together) is checked when it is built;
the templates the head will use by default are checked once the judge is built, before the folder is made.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputErrors, UniRewardError

# a hub repository id: one or two parts of letters, digits, '-', '_', '.'; no part starts or ends with '-'
# or '.', none holds '--' or '..', the whole id at most 96 characters (the hub's own rule)
_HUB_PART = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_HUB_EXAMPLE = "CodeGoat24/UnifiedReward-qwen-7b"


def looks_local(model: str) -> bool:
    """Whether ``model`` is written as a file-system path rather than a hub id."""
    return (model.startswith(("/", "./", "../", "~", ".\\", "..\\")) or "\\" in model or model in (".", "..")
            or model.count("/") > 1 or Path(model).is_absolute())


def is_hub_id(model: str) -> bool:
    parts = model.split("/")
    return (len(model) <= 96 and 1 <= len(parts) <= 2
            and all(_HUB_PART.match(p) and "--" not in p and ".." not in p for p in parts))


def model_problem(model: str, *, who: str = "pair job config") -> ConfigError | None:
    """Why ``model`` cannot name a judge to load (None when it can): a local path with no folder, a file, or a
    value that is neither a folder nor a hub id. Nothing is loaded and the hub is not asked."""
    path = Path(model).expanduser()
    if path.is_dir():
        return None
    if path.exists():
        return ConfigError(f"model '{model}' is a file, not a model folder", who=who,
                           fix="Point 'model' at the folder that holds the judge (its config.json and weights)")
    if looks_local(model):
        return ConfigError(f"model '{model}' is a local path, and no folder exists there", who=who,
                           fix="Correct 'model' (in a config file, relative paths start at the file's folder), "
                               f"or give a hub id such as '{_HUB_EXAMPLE}'")
    if not is_hub_id(model):
        return ConfigError(f"model '{model}' is neither an existing folder nor a hub id", who=who,
                           fix=f"Give the judge's local folder, or a hub id 'namespace/name' such as '{_HUB_EXAMPLE}'")
    return None


def collect(problems: list[UniRewardError], check: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one check; its error (or each of its errors) joins ``problems`` instead of stopping the others."""
    try:
        return check(*args, **kwargs)
    except InputErrors as exc:
        problems.extend(exc.problems)
    except UniRewardError as exc:
        problems.append(exc)
    return None
