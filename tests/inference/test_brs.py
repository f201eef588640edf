"""BRS loss, regularisers, objective early exits and the L-BFGS-B driver."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.predictors.brs import (BRSMaskLoss, BRSObjective, InputBiasVariables, LBFGSParams, ScaleBiasVariables,
                           batch_iou, run_lbfgs)
from inference.clicks import Click, click_square_maps


def test_brs_mask_loss_by_hand():
    probs = torch.tensor([[[[0.2, 0.9], [0.5, 0.1]]]])
    pos = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
    neg = torch.tensor([[[[0.0, 1.0], [0.0, 0.0]]]])
    loss, max_pos, max_neg = BRSMaskLoss()(probs, pos, neg)
    expected = (0.8 ** 2 + 0.5 ** 2) / (2 + 1e-5) + 0.9 ** 2 / (1 + 1e-5)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert max_pos == pytest.approx(0.8) and max_neg == pytest.approx(0.9)


def test_regularisers():
    (scale, bias), reg = ScaleBiasVariables().unpack(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert scale.tolist() == [2.0, 3.0] and bias.tolist() == [3.0, 4.0]
    assert reg.item() == pytest.approx(1e-3 * (1 + 4 + 10 * (9 + 16)))
    (b,), reg = InputBiasVariables((1, 1, 1, 2), with_flip=True).unpack(torch.tensor([1.0, 2.0]))
    assert b.shape == (2, 1, 1, 2) and b[1, 0, 0].tolist() == [2.0, 1.0]
    assert reg.item() == pytest.approx(2e-3 * 5)


def test_batch_iou_drops_empty_unions():
    a = torch.tensor([[True, False], [False, False]])
    b = torch.tensor([[True, True], [False, False]])
    assert batch_iou(a, b).tolist() == [0.5]


def _field_objective(shape=(1, 1, 8, 8), clicks=None, min_iou_diff=0.01):
    """Objective whose logits are the (flipped-pair) bias itself plus a constant −2."""
    clicks = clicks or [Click(2, 2, True), Click(6, 6, False)]
    flipped = [c.moved(x=shape[3] - 1 - c.x, y=c.y) for c in clicks]
    pos, neg = click_square_maps([clicks, flipped], shape[2:])
    return BRSObjective(lambda bias: bias * 4 - 2.0, InputBiasVariables(shape, True), pos, neg,
                        torch.device("cpu"), min_iou_diff=min_iou_diff)


def test_objective_gradient_matches_finite_difference():
    objective = _field_objective(min_iou_diff=0)
    x = np.random.default_rng(0).normal(0, 0.1, 64)
    f, grad = objective(x)
    i = 2 * 8 + 2
    step = np.zeros(64)
    step[i] = 1e-3
    numeric = (objective(x + step)[0] - objective(x - step)[0]) / 2e-3
    assert grad[i] == pytest.approx(numeric, rel=1e-2)
    assert grad.dtype == np.float64


def test_objective_early_exit_when_clicks_satisfied():
    objective = _field_objective()
    x = np.zeros(64)
    x[2 * 8 + 2] = x[2 * 8 + 1] = 2.0   # not enough: the square is 3x3
    x.reshape(8, 8)[1:4, 1:4] = 2.0     # positive square (and its mirror via flip → cols 4..6 in copy)
    x.reshape(8, 8)[1:4, 4:7] = 2.0
    f, grad = objective(x)
    assert np.all(grad == 0)            # exit (a): all click pixels on the right side


def test_run_lbfgs_reduces_loss_and_keeps_best_logits():
    objective = _field_objective()
    x = run_lbfgs(objective, np.zeros(64), LBFGSParams())
    assert 1 <= objective.n_evals <= 20
    assert objective.best_loss == min(np.float32(v) for v in objective.values)
    assert objective.values[-1] <= objective.values[0]
    probs = torch.sigmoid(objective.best_logits)
    assert probs[0, 0, 2, 2] > 0.51 and probs[0, 0, 6, 6] < 0.49
