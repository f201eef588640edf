"""Shared per-click BRS step: click squares, objective, L-BFGS-B, best-so-far logits (spec §3.1)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from inference.brs import BRSObjective, Variables, batch_iou, run_lbfgs
from inference.clicks import Click, click_square_maps
from inference.predictors.base import Predictor


class BRSPredictor(Predictor):
    """Base of the optimising predictors; subclasses build the prediction function and the variables."""

    def _optimise(self, image_nd: torch.Tensor, click_lists: list[list[Click]],
                  predict: Callable[..., torch.Tensor], variables: Variables, x0: np.ndarray
                  ) -> tuple[torch.Tensor, np.ndarray]:
        """Run the click's L-BFGS-B (if `#clicks > optimize_after_n_clicks`) from `x0` (flat; from zeros
        instead when `config.brs_warm_start` is False).

        Returns (logits (B, 1, H, W) at network-input size — the best evaluation's, or a fresh forward with
        `x0` when nothing ran — and the new variables (float64 after optimisation, `x0` otherwise)).
        """
        pos_mask, neg_mask = click_square_maps(click_lists, tuple(image_nd.shape[2:]),
                                              radius=self.config.brs_click_radius, device=self.device)
        objective = BRSObjective(predict, variables, pos_mask, neg_mask, self.device,
                                 prob_thresh=self.config.prob_thresh, min_iou_diff=self.config.min_iou_diff)
        if not self.config.brs_warm_start:
            x0 = np.zeros_like(x0)
        x = x0
        if len(click_lists[0]) > self.config.optimize_after_n_clicks:
            x = run_lbfgs(objective, x0, self.config.lbfgs)
        self.n_objective_evals, self.objective_values = objective.n_evals, list(objective.values)
        self.grad_norms = list(objective.grad_norms)
        if objective.best_logits is not None:
            logits = objective.best_logits
        else:
            opt_vars, _ = variables.unpack(torch.from_numpy(np.asarray(x)).float().to(self.device))
            logits = predict(*opt_vars)
        identity = None
        if self.config.brs_prev_mask == "network" or self.config.brs_trust_iou is not None:
            identity = self._identity_logits(predict, variables, x0, objective, logits)
        if self.config.brs_trust_iou is not None and identity is not logits:
            thresh = self.config.prob_thresh
            ious = batch_iou(torch.sigmoid(logits) > thresh, torch.sigmoid(identity) > thresh)
            if len(ious) > 0 and float(ious.mean()) < self.config.brs_trust_iou:
                self.brs_rejected = True
                logits, x = identity, np.zeros_like(x0)
        if self.config.brs_prev_mask == "network":
            self.network_logits = identity
        return logits, x

    def _identity_logits(self, predict: Callable[..., torch.Tensor], variables: Variables, x0: np.ndarray,
                         objective: BRSObjective, logits: torch.Tensor) -> torch.Tensor:
        """The network's logits with the optimisation variables at zero (identity scale/bias, no input bias):
        the objective's first evaluation or the returned logits when `x0` was zero, else one more forward."""
        if not np.any(x0):
            return objective.first_logits if objective.first_logits is not None else logits
        opt_vars, _ = variables.unpack(torch.zeros(np.asarray(x0).size, dtype=torch.float32, device=self.device))
        return predict(*opt_vars)
