"""The Diffusion-DPO loss (Wallace et al., CVPR 2024) as pure functions: tensors in, tensors out.

With e(x) the mean squared denoising error of one sample, winner w and loser l noised with the same
noise at the same timestep, θ the trained model and ref the frozen reference:

    margin = −(β/2) · [(e_θ(w) − e_ref(w)) − (e_θ(l) − e_ref(l))]
    loss   = −log σ(margin)

The margin is the implicit reward margin (positive when, relative to the reference, the policy
denoises the winner better than the loser); accuracy is the share of pairs with a positive margin.
The diffusers training example writes the same loss with β' = β/2.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class DiffusionDPOOutput(NamedTuple):
    loss: torch.Tensor
    implicit_reward_margin: torch.Tensor
    accuracy: torch.Tensor


def denoising_error(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per sample: one value per leading (batch) index, computed in float32."""
    diff = prediction.float() - target.float()
    return diff.pow(2).reshape(diff.shape[0], -1).mean(dim=1)


def diffusion_dpo_loss(
    model_err_w: torch.Tensor,
    model_err_l: torch.Tensor,
    ref_err_w: torch.Tensor,
    ref_err_l: torch.Tensor,
    beta: float = 5000.0,
    *,
    reduction: str = "mean",
) -> DiffusionDPOOutput:
    """Diffusion-DPO loss, implicit reward margin and accuracy from per-pair denoising errors.

    ``reduction="mean"`` averages the three over pairs; ``"none"`` returns one value per pair (accuracy
    as 0.0 / 1.0). The reference errors carry no gradient.
    """
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', not {reduction!r}")
    model_diff = model_err_w - model_err_l
    ref_diff = (ref_err_w - ref_err_l).detach()
    margin = -0.5 * beta * (model_diff - ref_diff)
    loss = -F.logsigmoid(margin)
    correct = (margin > 0).to(margin.dtype)
    if reduction == "none":
        return DiffusionDPOOutput(loss, margin.detach(), correct)
    return DiffusionDPOOutput(loss.mean(), margin.detach().mean(), correct.mean())
