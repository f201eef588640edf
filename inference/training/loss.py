"""Normalized focal loss (RITM `NormalizedFocalLossSigmoid`, α 0.5, γ 2, detached normaliser)."""
from __future__ import annotations

import torch


def normalized_focal_loss(logits: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor,
                          alpha: float = 0.5, gamma: float = 2.0, eps: float = 1e-8) -> torch.Tensor:
    """Mean over the batch of the per-image normalised focal loss.

    Args:
        logits: (B, 1, H, W) float. gt: (B, 1, H, W) float in {0, 1}. weight: (B, 1, H, W) float, 0 on
            ignored pixels, 1 elsewhere.
    Returns:
        scalar tensor. The focal factor (1-pt)^γ is rescaled per image so that it sums to the number of
        valid pixels (the rescale factor carries no gradient).
    """
    if logits.shape != gt.shape or gt.shape != weight.shape:
        raise ValueError(f"shape mismatch: {tuple(logits.shape)}, {tuple(gt.shape)}, {tuple(weight.shape)}")
    prob = torch.sigmoid(logits)
    is_obj = gt > 0.5
    pt = torch.where(is_obj, prob, 1.0 - prob)
    alpha_t = torch.where(is_obj, torch.full_like(prob, alpha), torch.full_like(prob, 1.0 - alpha))
    beta = (1.0 - pt) ** gamma * weight
    dims = (1, 2, 3)
    weight_sum = weight.sum(dim=dims, keepdim=True)
    mult = (weight_sum / (beta.sum(dim=dims, keepdim=True) + eps)).detach()
    log_pt = torch.nn.functional.logsigmoid(torch.where(is_obj, logits, -logits))
    loss = -alpha_t * beta * mult * log_pt * weight
    per_image = loss.sum(dim=dims) / (weight_sum.view(-1) + eps)
    return per_image.mean()


def distillation_loss(logits: torch.Tensor, teacher_prob: torch.Tensor, weight: torch.Tensor,
                      eps: float = 1e-8) -> torch.Tensor:
    """Mean over the batch of the per-image binary cross-entropy between the student's map and a teacher's
    probabilities (soft targets; its minimum is the teacher's own entropy, reached at the teacher's logits).

    Args:
        logits: (B, 1, H, W) float, the student's. teacher_prob: (B, 1, H, W) float in [0, 1], no gradient
            needed. weight: (B, 1, H, W) float, 0 on pixels left out.
    Returns:
        scalar tensor; 0 (with a gradient path) for an empty batch.
    """
    if logits.shape != teacher_prob.shape or logits.shape != weight.shape:
        raise ValueError(f"shape mismatch: {tuple(logits.shape)}, {tuple(teacher_prob.shape)}, "
                         f"{tuple(weight.shape)}")
    if logits.shape[0] == 0:
        return logits.sum()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, teacher_prob, reduction="none")
    dims = (1, 2, 3)
    per_image = (bce * weight).sum(dim=dims) / (weight.sum(dim=dims) + eps)
    return per_image.mean()
