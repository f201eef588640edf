"""Backpropagating refinement: the corrective loss, the optimisation variables and the L-BFGS-B driver (spec §3).

The driver minimises `BRSMaskLoss(sigmoid(logits(vars))) + regulariser(vars)` over a float64 vector with
scipy's `fmin_l_bfgs_b`, exactly as the reference: float32 torch evaluation, two early exits that return a
zero gradient (which L-BFGS-B takes as convergence), and the logits of the best evaluation kept as the output
(the first evaluation's are kept too).
Two parameterisations ("unpackers") exist: scale/bias for f-BRS and an additive input bias for RGB-/DistMap-BRS.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np
import torch
from scipy.optimize import fmin_l_bfgs_b

__all__ = ["LBFGSParams", "BRSMaskLoss", "ScaleBiasVariables", "InputBiasVariables", "BRSObjective",
           "run_lbfgs", "batch_iou"]


@dataclass(frozen=True)
class LBFGSParams:
    """scipy `fmin_l_bfgs_b` settings; the reference uses maxiter = 2·maxfun."""

    m: int = 20
    factr: float = 0.0
    pgtol: float = 1e-8
    maxfun: int = 20
    maxiter: int | None = None

    def __post_init__(self) -> None:
        if not (self.m >= 1 and self.maxfun >= 1 and (self.maxiter is None or self.maxiter >= 1)):
            raise ValueError(f"L-BFGS-B needs m, maxfun and maxiter ≥ 1, got {self}")
        if not (self.factr >= 0 and self.pgtol >= 0):
            raise ValueError(f"L-BFGS-B needs factr and pgtol ≥ 0, got {self}")

    def as_kwargs(self) -> dict:
        """Keyword arguments for `fmin_l_bfgs_b`."""
        return {"m": self.m, "factr": self.factr, "pgtol": self.pgtol, "maxfun": self.maxfun,
                "maxiter": self.maxiter if self.maxiter is not None else 2 * self.maxfun}


class BRSMaskLoss(torch.nn.Module):
    """Corrective loss on click squares: Σ((1−p)·M⁺)²/(ΣM⁺+eps) + Σ(p·M⁻)²/(ΣM⁻+eps).

    Returns (loss scalar tensor, max |(1−p)·M⁺|, max |p·M⁻|) for probabilities `p` and masks (B, 1, H, W).
    """

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, probs: torch.Tensor, pos_mask: torch.Tensor, neg_mask: torch.Tensor
                ) -> tuple[torch.Tensor, float, float]:
        pos_diff = (1 - probs) * pos_mask
        pos_term = torch.sum(pos_diff ** 2) / (torch.sum(pos_mask) + self.eps)
        neg_diff = probs * neg_mask
        neg_term = torch.sum(neg_diff ** 2) / (torch.sum(neg_mask) + self.eps)
        with torch.no_grad():
            max_pos = torch.max(torch.abs(pos_diff)).item()
            max_neg = torch.max(torch.abs(neg_diff)).item()
        return pos_term + neg_term, max_pos, max_neg


def batch_iou(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Per-item IoU of bool (B, ...) masks as the reference computes it (float32 means; items with an empty
    union are dropped, so the result may be shorter than B)."""
    dims = tuple(range(1, a.dim()))
    union = torch.mean((a | b).float(), dim=dims).cpu().numpy()
    intersection = torch.mean((a & b).float(), dim=dims).cpu().numpy()
    nonzero = union > 0
    return intersection[nonzero] / union[nonzero]


class Variables(Protocol):
    """Maps the flat optimisation vector to the tensors the prediction function takes, plus a regulariser."""

    def unpack(self, x: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]: ...


@dataclass(frozen=True)
class ScaleBiasVariables:
    """f-BRS: x = [s (B·C), b (B·C)] → (1 + s, b); reg = w·(Σs² + w_b·Σb²) (spec §3.2)."""

    reg_weight: float = 1e-3
    reg_bias_weight: float = 10.0

    def unpack(self, x: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Flat float32 (2·B·C,) → ((scale (B·C,), bias (B·C,)), regulariser scalar)."""
        scale, bias = torch.chunk(x, 2, dim=0)
        reg = self.reg_weight * (torch.sum(scale ** 2) + self.reg_bias_weight * torch.sum(bias ** 2))
        return (1 + scale, bias), reg


@dataclass(frozen=True)
class InputBiasVariables:
    """RGB-/DistMap-BRS: x → bias (B, C, H, W), with its horizontally flipped copy appended when the batch
    carries the flip; reg = w·Σ over [bias, flip(bias)] (spec §3.3)."""

    shape: tuple[int, int, int, int]
    with_flip: bool = True
    reg_weight: float = 1e-3

    def unpack(self, x: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Flat float32 (B·C·H·W,) → ((bias (B or 2B, C, H, W),), regulariser scalar)."""
        bias = x.view(self.shape)
        if self.with_flip:
            bias = torch.cat([bias, torch.flip(bias, dims=[3])], dim=0)
        return (bias,), self.reg_weight * torch.sum(bias ** 2)


@dataclass
class BRSObjective:
    """The function L-BFGS-B calls: x (float64) → [f, grad (float64)].

    `predict(*vars)` returns logits (B, 1, H, W) at network-input size, the batch including the flipped copy;
    each half has its own click squares in `pos_mask` / `neg_mask` (B, 1, H, W). Records the best logits,
    the number of evaluations and each objective value.
    """

    predict: Callable[..., torch.Tensor]
    variables: Variables
    pos_mask: torch.Tensor
    neg_mask: torch.Tensor
    device: torch.device
    prob_thresh: float = 0.49
    min_iou_diff: float = 0.01
    loss: BRSMaskLoss = field(default_factory=BRSMaskLoss)
    best_logits: torch.Tensor | None = None
    best_loss: float | None = None
    first_logits: torch.Tensor | None = None
    n_evals: int = 0
    values: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    _last_mask: torch.Tensor | None = None

    def __call__(self, x: np.ndarray) -> list:
        self.n_evals += 1
        params = torch.from_numpy(x).float().to(self.device)
        params.requires_grad_(True)
        with torch.enable_grad():
            opt_vars, reg = self.variables.unpack(params)
            logits = self.predict(*opt_vars)
            probs = torch.sigmoid(logits)
            loss, max_pos, max_neg = self.loss(probs, self.pos_mask, self.neg_mask)
            loss = loss + reg
        f_val = loss.detach().cpu().numpy()
        self.values.append(float(f_val))
        if self.first_logits is None:
            self.first_logits = logits.detach()
        if self.best_logits is None or f_val < self.best_loss:
            self.best_logits, self.best_loss = logits.detach(), f_val

        # Early exit (a): every click pixel is already on its correct side of the threshold.
        if max_pos < 1 - self.prob_thresh and max_neg < self.prob_thresh:
            self.grad_norms.append(0.0)
            return [f_val, np.zeros_like(x)]
        # Early exit (b): the binary mask barely changed since the previous evaluation.
        mask = probs > self.prob_thresh
        if self._last_mask is not None and self.min_iou_diff > 0:
            ious = batch_iou(mask, self._last_mask)
            if len(ious) > 0 and ious.mean() > 1 - self.min_iou_diff:
                self.grad_norms.append(0.0)
                return [f_val, np.zeros_like(x)]
        self._last_mask = mask

        # autograd.grad instead of backward(): same input gradient, no accumulation into network parameters.
        (grad,) = torch.autograd.grad(loss, params)
        grad = grad.cpu().numpy().ravel().astype(np.float64)
        self.grad_norms.append(float(np.linalg.norm(grad)))
        return [f_val, grad]


def run_lbfgs(objective: BRSObjective, x0: np.ndarray, params: LBFGSParams = LBFGSParams()) -> np.ndarray:
    """Minimise `objective` from `x0` (flat, any float dtype) with L-BFGS-B; returns the float64 solution."""
    x, _, _ = fmin_l_bfgs_b(func=objective, x0=np.asarray(x0).ravel(), **params.as_kwargs())
    return x
