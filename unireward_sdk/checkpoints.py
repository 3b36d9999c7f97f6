"""Resumable training checkpoints: finding one (``latest`` or a path) and saving / restoring random state.

A trainer that writes ``<output_dir>/checkpoint-<step>`` every ``save_every`` steps puts in it the model or
adapter weights (safetensors) and the state to continue from (optimizer, scheduler, step, random generators);
``resume_from_checkpoint`` (``--resume-from-checkpoint PATH|latest``) names one. Nothing here imports torch
at module level.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from .errors import ConfigError

CHECKPOINT_PREFIX = "checkpoint-"
_STEP = re.compile(rf"^{CHECKPOINT_PREFIX}(\d+)$")


def checkpoint_step(path: str | Path) -> int | None:
    """The step of a ``checkpoint-<step>`` folder name, or None."""
    found = _STEP.match(Path(path).name)
    return int(found.group(1)) if found else None


def find_checkpoint(value: str | Path, output_dir: str | Path, *, marker: str, who: str) -> Path:
    """The checkpoint folder ``value`` names: ``"latest"`` (the highest step in ``output_dir`` holding
    ``marker``) or a folder that holds ``marker``; anything else is an error saying what is there."""
    output_dir = Path(output_dir)
    if str(value) == "latest":
        found = sorted((p for p in output_dir.glob(f"{CHECKPOINT_PREFIX}*")
                        if checkpoint_step(p) is not None and (p / marker).is_file()), key=checkpoint_step)
        if not found:
            raise ConfigError(f"no resumable checkpoint in {output_dir}", who=who,
                              fix="Set save_every so the run writes checkpoint-<step> folders, or give the path of "
                                  "one with --resume-from-checkpoint")
        return found[-1]
    path = Path(value)
    if not path.is_dir():
        raise ConfigError(f"checkpoint folder {path} does not exist", who=who,
                          fix="Give a checkpoint-<step> folder the run wrote, or 'latest'")
    if not (path / marker).is_file():
        raise ConfigError(f"{path} holds no training state ({marker}): it cannot be resumed from", who=who,
                          fix="Point at a checkpoint-<step> folder written with save_every set (a final policy "
                              "folder is loaded with model = ..., not resumed)")
    return path


def rng_state() -> tuple[dict[str, Any], dict[str, Any]]:
    """The state of Python's, NumPy's and torch's generators: a JSON-ready part (Python, NumPy) and a
    tensor part (torch CPU and CUDA) that ``torch.save`` writes and ``torch.load(weights_only=True)`` reads."""
    import numpy as np
    import torch

    name, keys, pos, has_gauss, cached = np.random.get_state()
    plain = {"python": _lists(random.getstate()), "numpy": [name, keys.tolist(), pos, has_gauss, cached]}
    tensors: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors["cuda"] = torch.cuda.get_rng_state_all()
    return plain, tensors


def restore_rng(plain: dict[str, Any], tensors: dict[str, Any]) -> None:
    """Put back what :func:`rng_state` recorded."""
    import numpy as np
    import torch

    random.setstate(_tuples(plain["python"]))
    name, keys, pos, has_gauss, cached = plain["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["cpu"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(tensors["cuda"])


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def _tuples(value: Any) -> Any:
    # JSON gives back lists where the generator wrote tuples
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value
