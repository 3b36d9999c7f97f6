"""What a Diffusion-DPO ``checkpoint-<step>`` holds beyond the policy, so an interrupted run can continue.

Next to the policy that ``save_pretrained`` writes (LoRA adapter or UNet, safetensors), a checkpoint holds
``trainer_state.json`` (steps done, the metrics so far, where in which epoch the data loader was, Python and
NumPy random state) and ``training_state.pt`` (optimizer and learning-rate scheduler state, the torch
generators, the data order's generator at the start of the epoch), read back with ``weights_only=True``.
Resuming puts all of it back, so the continued run draws the same batches and noise an uninterrupted one
would have.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from unireward_sdk.alignment import StepMetrics
from unireward_sdk.checkpoints import restore_rng, rng_state
from unireward_sdk.errors import ModelLoadError

TRAINER_STATE = "trainer_state.json"
TRAINING_TENSORS = "training_state.pt"


def save_training_state(path: Path, *, optimizer: Any, scheduler: Any, history: list[StepMetrics], position: dict,
                        loader_generator: torch.Tensor) -> None:
    """Write the state to continue from into the checkpoint folder ``path`` (main process only)."""
    plain, tensors = rng_state()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": tensors,
                "loader_generator": loader_generator}, path / TRAINING_TENSORS)
    state = {"history": [_metrics(m) for m in history], **position, "rng": plain}
    (path / TRAINER_STATE).write_text(json.dumps(state, indent=2), encoding="utf-8")


def load_training_state(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trainer_state.json, training_state.pt) of a checkpoint folder."""
    try:
        state = json.loads((path / TRAINER_STATE).read_text(encoding="utf-8"))
        tensors = torch.load(path / TRAINING_TENSORS, weights_only=True, map_location="cpu")
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot read the training state ({exc})", who=str(path),
                             fix="Resume from another checkpoint-<step> folder (an interrupted save leaves an "
                                 "incomplete one)") from exc
    state["history"] = [StepMetrics(**m) for m in state["history"]]
    return state, tensors


def restore_random_state(state: dict[str, Any], tensors: dict[str, Any]) -> None:
    restore_rng(state["rng"], tensors["rng"])


def _metrics(m: StepMetrics) -> dict[str, Any]:
    return {"step": m.step, "loss": m.loss, "margin": m.margin, "accuracy": m.accuracy,
            "learning_rate": m.learning_rate, "epoch": m.epoch}
