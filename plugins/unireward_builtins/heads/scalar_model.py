"""The ``scalar`` head's torch parts: the value-head module, its safetensors files, and fitting on cached features.

A :class:`ScalarValueHead` maps a judge's last hidden state to one number: standardise the features (mean
and spread measured on the training features, saved with the weights), then a linear layer. Trained
pairwise with Bradley-Terry (or Rao-Kupper when ties are labelled) and pointwise with regression, always on
features cached once from the frozen judge, so fitting takes seconds even for a large judge.

Files written by :meth:`ScalarValueHead.save_pretrained`: ``value_head.safetensors`` (weights and the
standardisation buffers) and ``value_head_config.json`` (sizes, scale, tie modelling, where the features
came from). This module imports torch at import time; the plugin module ``scalar`` imports it lazily.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from unireward_sdk.errors import ModelLoadError

from .scalar_losses import bradley_terry_loss, rao_kupper_loss, regression_loss

WEIGHTS_NAME = "value_head.safetensors"
CONFIG_NAME = "value_head_config.json"
FORMAT_VERSION = 1


class ScalarValueHead(nn.Module):
    """Linear value head over standardised judge features.

    Args:
        hidden_size: width of the judge's hidden state.
        models_ties: learn a Rao-Kupper tie threshold ``eta`` (see :mod:`.scalar_losses`); else eta = 0.
        scale: the (lo, hi) range of regression targets, when trained pointwise on a known scale.
        base_checkpoint, template_id: where the features come from (recorded, checked by the reward head).
    """

    def __init__(
        self,
        hidden_size: int,
        *,
        models_ties: bool = False,
        scale: Sequence[float] | None = None,
        base_checkpoint: str | None = None,
        template_id: str | None = None,
    ):
        super().__init__()
        self.hidden_size = int(hidden_size)
        self.models_ties = bool(models_ties)
        self.scale = tuple(float(x) for x in scale) if scale is not None else None
        self.base_checkpoint = base_checkpoint
        self.template_id = template_id
        self.value = nn.Linear(self.hidden_size, 1)
        # eta = softplus(tie_raw): a free parameter keeps the threshold positive; softplus(-2) ~ 0.13
        self.tie_raw = nn.Parameter(torch.tensor(-2.0))
        self.register_buffer("feature_mean", torch.zeros(self.hidden_size))
        self.register_buffer("feature_std", torch.ones(self.hidden_size))
        self.register_buffer("standardized", torch.tensor(False))

    # --- computing ---------------------------------------------------------------------------------

    @property
    def eta(self) -> torch.Tensor:
        """The Rao-Kupper tie threshold (0 when ties are not modelled)."""
        if not self.models_ties:
            return torch.zeros((), dtype=self.tie_raw.dtype, device=self.tie_raw.device)
        return nn.functional.softplus(self.tie_raw)

    def set_standardization(self, features: torch.Tensor) -> None:
        """Measure per-feature mean and spread on training features (once, before fitting)."""
        features = features.detach().to(self.feature_mean.dtype)
        self.feature_mean.copy_(features.mean(0))
        # a floor keeps constant features (e.g. the same token's state in every row) from blowing up
        self.feature_std.copy_(features.std(0, unbiased=False).clamp_min(1e-4))
        self.standardized.fill_(True)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Rewards ``[n]`` for features ``[n, hidden]``."""
        x = (features.to(self.feature_mean.dtype) - self.feature_mean) / self.feature_std
        return self.value(x).squeeze(-1)

    # --- files -------------------------------------------------------------------------------------

    def config_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "hidden_size": self.hidden_size,
            "models_ties": self.models_ties,
            "scale": list(self.scale) if self.scale is not None else None,
            "base_checkpoint": self.base_checkpoint,
            "template_id": self.template_id,
        }

    def save_pretrained(self, path: str | Path) -> Path:
        """Write ``value_head.safetensors`` and ``value_head_config.json`` into the folder ``path``."""
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(tensors, str(path / WEIGHTS_NAME), metadata={"format": "pt"})
        (path / CONFIG_NAME).write_text(json.dumps(self.config_dict(), indent=2) + "\n")
        return path

    @classmethod
    def from_pretrained(cls, path: str | Path, *, device: str | torch.device = "cpu") -> ScalarValueHead:
        """Load a head saved by :meth:`save_pretrained` (safetensors only)."""
        from safetensors.torch import load_file

        path = Path(path)
        who = f"scalar value head '{path}'"
        config_file, weights_file = path / CONFIG_NAME, path / WEIGHTS_NAME
        if not config_file.is_file() or not weights_file.is_file():
            raise ModelLoadError(
                f"missing {CONFIG_NAME} or {WEIGHTS_NAME}", who=who,
                fix="Pass the folder written by ScalarValueHead.save_pretrained",
            )
        config = json.loads(config_file.read_text())
        if config.get("format_version") != FORMAT_VERSION:
            raise ModelLoadError(
                f"unsupported format_version {config.get('format_version')!r} (this SDK reads {FORMAT_VERSION})",
                who=who, fix="Save it again with this SDK version",
            )
        head = cls(
            config["hidden_size"], models_ties=config.get("models_ties", False), scale=config.get("scale"),
            base_checkpoint=config.get("base_checkpoint"), template_id=config.get("template_id"),
        )
        state = load_file(str(weights_file), device=str(device))
        try:
            head.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelLoadError(f"weights do not match the config ({exc})", who=who,
                                 fix="Keep the two files of one save_pretrained call together") from exc
        return head.to(device).eval()


# --- fitting on cached features ---------------------------------------------------------------------


def _fit(head: ScalarValueHead, features_for_stats: torch.Tensor, loss_fn, *, steps: int, lr: float,
         weight_decay: float, seed: int) -> list[float]:
    torch.manual_seed(seed)
    if not bool(head.standardized):
        head.set_standardization(features_for_stats)
    params = [p for name, p in head.named_parameters() if head.models_ties or name != "tie_raw"]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    head.train()
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    head.eval()
    if not all(math.isfinite(x) for x in losses):
        raise FloatingPointError("value-head fitting diverged (non-finite loss); lower lr")
    return losses


def fit_pairwise(
    head: ScalarValueHead,
    chosen: torch.Tensor,
    rejected: torch.Tensor,
    *,
    ties: torch.Tensor | None = None,
    steps: int = 50,
    lr: float = 0.05,
    weight_decay: float = 0.0,
    seed: int = 0,
) -> list[float]:
    """Full-batch Adam on Bradley-Terry (or Rao-Kupper when ``ties`` is given) over cached features.

    ``chosen[i]`` beat ``rejected[i]``, except rows where ``ties[i]`` is True (a tie, order irrelevant).
    Ties need ``head.models_ties``. Returns the loss of every step.
    """
    if chosen.shape != rejected.shape:
        raise ValueError(f"chosen {tuple(chosen.shape)} and rejected {tuple(rejected.shape)} differ")
    if ties is not None and bool(ties.any()) and not head.models_ties:
        raise ValueError("tie labels need ScalarValueHead(models_ties=True)")

    def loss_fn():
        r_c, r_r = head(chosen), head(rejected)
        if ties is None or not head.models_ties:
            return bradley_terry_loss(r_c, r_r)
        return rao_kupper_loss(r_c, r_r, ties, head.eta)

    return _fit(head, torch.cat([chosen, rejected]), loss_fn, steps=steps, lr=lr, weight_decay=weight_decay,
                seed=seed)


def fit_pointwise(
    head: ScalarValueHead,
    features: torch.Tensor,
    targets: torch.Tensor,
    *,
    steps: int = 50,
    lr: float = 0.05,
    weight_decay: float = 0.0,
    seed: int = 0,
) -> list[float]:
    """Full-batch Adam on mean squared error of ``head(features)`` against ``targets``."""
    targets = targets.to(torch.float32)
    if not bool(head.standardized):
        with torch.no_grad():  # start from the mean target: fewer steps spent learning the offset
            head.value.bias.fill_(float(targets.mean()))
    return _fit(head, features, lambda: regression_loss(head(features), targets), steps=steps, lr=lr,
                weight_decay=weight_decay, seed=seed)
