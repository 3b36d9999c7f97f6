"""The Diffusion-DPO loss against its formula, on numbers worked out by hand."""

import math

import pytest

torch = pytest.importorskip("torch")

from unireward_builtins.aligners.diffusion_common.loss import denoising_error, diffusion_dpo_loss  # noqa: E402

# pair 1: policy improves the winner more than the reference does
#   model diff = 0.30 - 0.50 = -0.20, ref diff = 0.40 - 0.45 = -0.05
#   margin = -(10/2) * (-0.20 - -0.05) = 0.75, loss = log(1 + e^-0.75) = 0.386871
# pair 2: policy prefers the loser
#   model diff = 0.50 - 0.30 = 0.20, ref diff = 0
#   margin = -(10/2) * 0.20 = -1.0, loss = log(1 + e^1) = 1.313262
MODEL_W = [0.30, 0.50]
MODEL_L = [0.50, 0.30]
REF_W = [0.40, 0.40]
REF_L = [0.45, 0.40]


def _tensors():
    return [torch.tensor(v, dtype=torch.float64) for v in (MODEL_W, MODEL_L, REF_W, REF_L)]


def test_per_pair_values_match_the_hand_computed_formula():
    loss, margin, correct = diffusion_dpo_loss(*_tensors(), beta=10.0, reduction="none")
    assert margin.tolist() == pytest.approx([0.75, -1.0])
    assert loss.tolist() == pytest.approx([0.386871, 1.313262], abs=1e-6)
    assert correct.tolist() == [1.0, 0.0]


def test_mean_reduction_averages_pairs():
    loss, margin, accuracy = diffusion_dpo_loss(*_tensors(), beta=10.0)
    assert loss.item() == pytest.approx(0.850066, abs=1e-6)
    assert margin.item() == pytest.approx(-0.125)
    assert accuracy.item() == pytest.approx(0.5)


def test_default_beta_is_the_papers_5000():
    w, l, rw, rl = (torch.tensor([v]) for v in (0.1001, 0.1, 0.1, 0.1))
    _, margin, _ = diffusion_dpo_loss(w, l, rw, rl)
    assert margin.item() == pytest.approx(-2500 * 0.0001, rel=1e-3)


def test_policy_equal_to_reference_gives_log_two_and_zero_margin():
    err = torch.tensor([0.2, 0.7, 1.3])
    loss, margin, accuracy = diffusion_dpo_loss(err, err.flip(0), err, err.flip(0), beta=5000.0)
    assert loss.item() == pytest.approx(math.log(2))
    assert margin.item() == 0.0 and accuracy.item() == 0.0


def test_gradient_lowers_winner_error_and_never_reaches_the_reference():
    w, l, rw, rl = (t.clone().requires_grad_(True) for t in _tensors())
    loss, _, _ = diffusion_dpo_loss(w, l, rw, rl, beta=10.0)
    loss.backward()
    assert (w.grad > 0).all() and (l.grad < 0).all()  # descending lowers e(w), raises e(l)
    assert rw.grad is None and rl.grad is None
    # d loss / d e_w = sigma(-margin) * beta/2 / n_pairs
    expected = [1 / (1 + math.exp(0.75)) * 5 / 2, 1 / (1 + math.exp(-1.0)) * 5 / 2]
    assert w.grad.tolist() == pytest.approx(expected)


def test_denoising_error_is_a_per_sample_mean_square():
    prediction = torch.zeros(2, 3, 2, 2)
    target = torch.stack([torch.full((3, 2, 2), 1.0), torch.full((3, 2, 2), 2.0)])
    target[1, 0, 0, 0] = 0.0
    assert denoising_error(prediction, target).tolist() == pytest.approx([1.0, (11 * 4.0) / 12])


def test_unknown_reduction_is_refused():
    with pytest.raises(ValueError, match="reduction"):
        diffusion_dpo_loss(*_tensors(), reduction="sum")
