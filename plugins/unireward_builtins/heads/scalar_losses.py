"""Pure loss functions for the ``scalar`` value head: tensors in, scalar tensor out.

- :func:`bradley_terry_loss`: -log sigmoid(r_chosen - r_rejected), the pairwise reward-model loss.
- :func:`rao_kupper_loss`: Bradley-Terry with ties, in **Rao-Kupper** form (Rao & Kupper, 1967), written
  with log-strengths r and a tie threshold eta = log(theta) >= 0:

      P(A > B) = sigmoid(rA - rB - eta)
      P(B > A) = sigmoid(rB - rA - eta)
      P(tie)   = 1 - P(A > B) - P(B > A)
               = (exp(2 eta) - 1) exp(rA + rB) / ((exp(rA) + exp(rB + eta)) (exp(rB) + exp(rA + eta)))

  eta = 0 gives back Bradley-Terry (no ties possible). Rao-Kupper was chosen over Davidson because its
  win probabilities stay logistic in the reward difference, so a model fitted with ties reads the same
  way as a plain Bradley-Terry model, only with a dead zone of width ~eta around zero.
- :func:`regression_loss`: mean squared error of pointwise predictions.

All reduce with the mean over the batch. Torch is imported at call time so that listing plugins stays cheap.
"""

from __future__ import annotations

import math
from typing import Any


def _torch():
    import torch

    return torch


def bradley_terry_loss(r_chosen: Any, r_rejected: Any) -> Any:
    """Mean of -log sigmoid(r_chosen - r_rejected) over the batch."""
    torch = _torch()
    return -torch.nn.functional.logsigmoid(r_chosen - r_rejected).mean()


def _as_eta(eta: Any, like: Any) -> Any:
    torch = _torch()
    return eta if torch.is_tensor(eta) else torch.tensor(float(eta), dtype=like.dtype, device=like.device)


def rao_kupper_log_probs(r_a: Any, r_b: Any, eta: Any) -> tuple[Any, Any, Any]:
    """(log P(A > B), log P(B > A), log P(tie)) under Rao-Kupper with tie threshold ``eta`` > 0."""
    torch = _torch()
    eta = _as_eta(eta, r_a)
    log_a = torch.nn.functional.logsigmoid(r_a - r_b - eta)
    log_b = torch.nn.functional.logsigmoid(r_b - r_a - eta)
    # log(exp(2 eta) - 1) written stably for small eta: log(expm1(2 eta))
    log_tie = (
        torch.log(torch.expm1(2 * eta)) + r_a + r_b
        - torch.logaddexp(r_a, r_b + eta) - torch.logaddexp(r_b, r_a + eta)
    )
    return log_a, log_b, log_tie


def rao_kupper_loss(r_chosen: Any, r_rejected: Any, tie: Any, eta: Any) -> Any:
    """Mean negative log-likelihood of pairwise outcomes with ties (Rao-Kupper, see the module docstring).

    ``tie`` is a boolean tensor: True rows were judged a tie (the order of the two rewards does not matter
    for them), False rows mean ``r_chosen`` won. ``eta`` > 0 is the tie threshold log(theta), a float or a
    tensor (learnable, e.g. ``softplus`` of a free parameter).
    """
    torch = _torch()
    log_win, _, log_tie = rao_kupper_log_probs(r_chosen, r_rejected, eta)
    tie = tie.to(torch.bool)
    return -torch.where(tie, log_tie, log_win).mean()


def regression_loss(predicted: Any, target: Any) -> Any:
    """Mean squared error between predicted and target scores."""
    torch = _torch()
    return torch.nn.functional.mse_loss(predicted, target.to(predicted.dtype))


def _sigmoid(x: float) -> float:
    # two branches so that exp never overflows for large |x|
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def rao_kupper_probabilities(r_a: float, r_b: float, eta: float) -> dict[str, float]:
    """P(A), P(B), P(tie) for two rewards as plain floats (eta = 0: Bradley-Terry, no tie key)."""
    d = r_a - r_b
    p_a = _sigmoid(d - eta)
    p_b = _sigmoid(-d - eta)
    if eta <= 0:
        return {"A": p_a, "B": 1.0 - p_a}
    return {"A": p_a, "B": p_b, "tie": max(0.0, 1.0 - p_a - p_b)}
