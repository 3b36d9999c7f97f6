"""Scalar-head losses against their formulas on hand-computed numbers."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from unireward_builtins.heads.scalar_losses import (  # noqa: E402
    bradley_terry_loss,
    rao_kupper_log_probs,
    rao_kupper_loss,
    rao_kupper_probabilities,
    regression_loss,
)


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_bradley_terry_by_hand():
    # -log sigmoid(1) = log(1 + e^-1) = 0.3132617; -log sigmoid(-2) = log(1 + e^2) = 2.1269280
    loss = bradley_terry_loss(t(1.0, 0.0), t(0.0, 2.0))
    assert float(loss) == pytest.approx(1.2200948492805979, abs=1e-12)


def test_bradley_terry_gradient_pushes_chosen_up():
    rc, rr = t(0.0).requires_grad_(), t(0.0).requires_grad_()
    bradley_terry_loss(rc, rr).backward()
    assert float(rc.grad) == pytest.approx(-0.5) and float(rr.grad) == pytest.approx(0.5)


def test_rao_kupper_probabilities_by_hand():
    # strengths pi_A = e, pi_B = 1, theta = 2 (eta = ln 2):
    # P(A>B) = e/(e+2), P(B>A) = 1/(1+2e), P(tie) = 3e/((e+2)(1+2e))
    e = math.e
    log_a, log_b, log_tie = rao_kupper_log_probs(t(1.0), t(0.0), math.log(2))
    assert math.exp(float(log_a)) == pytest.approx(e / (e + 2), abs=1e-12)
    assert math.exp(float(log_b)) == pytest.approx(1 / (1 + 2 * e), abs=1e-12)
    assert math.exp(float(log_tie)) == pytest.approx(3 * e / ((e + 2) * (1 + 2 * e)), abs=1e-12)
    p = rao_kupper_probabilities(1.0, 0.0, math.log(2))
    assert p["A"] == pytest.approx(0.5761168847658291) and p["tie"] == pytest.approx(0.2685207117372073)
    assert sum(p.values()) == pytest.approx(1.0)


def test_rao_kupper_loss_mixes_wins_and_ties():
    # row 0: A won -> -log(e/(e+2)); row 1: a tie -> -log(3e/((e+2)(1+2e))); mean = 0.9331360
    loss = rao_kupper_loss(t(1.0, 1.0), t(0.0, 0.0), torch.tensor([False, True]), math.log(2))
    assert float(loss) == pytest.approx(0.9331359716271217, abs=1e-12)


def test_rao_kupper_with_tiny_eta_approaches_bradley_terry():
    rc, rr = t(0.3, -1.0), t(0.1, 0.5)
    rk = rao_kupper_loss(rc, rr, torch.tensor([False, False]), 1e-9)
    assert float(rk) == pytest.approx(float(bradley_terry_loss(rc, rr)), abs=1e-8)


def test_plain_probabilities_are_bradley_terry_without_ties():
    p = rao_kupper_probabilities(2.0, 0.0, 0.0)
    assert set(p) == {"A", "B"} and p["A"] == pytest.approx(1 / (1 + math.exp(-2)))
    assert rao_kupper_probabilities(1000.0, 0.0, 0.0)["A"] == 1.0  # no overflow


def test_regression_loss_is_mse():
    assert float(regression_loss(t(1.0, 3.0), t(2.0, 1.0))) == pytest.approx((1 + 4) / 2)
