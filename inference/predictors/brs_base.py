"""Shared per-click BRS step: click squares, objective, L-BFGS-B, best-so-far logits (spec §3.1)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from inference.predictors.brs import BRSObjective, Variables, run_lbfgs
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
        pos_mask, neg_mask = click_square_maps(click_lists, tuple(image_nd.shape[2:]), device=self.device)
        objective = BRSObjective(predict, variables, pos_mask, neg_mask, self.device,
                                 prob_thresh=self.config.prob_thresh, min_iou_diff=self.config.min_iou_diff)
        if not self.config.brs_warm_start:
            x0 = np.zeros_like(x0)
        x = x0
        if len(click_lists[0]) > self.config.optimize_after_n_clicks:
            x = run_lbfgs(objective, x0, self.config.lbfgs)
        self.n_objective_evals, self.objective_values = objective.n_evals, list(objective.values)
        if objective.best_logits is not None:
            return objective.best_logits, x
        opt_vars, _ = variables.unpack(torch.from_numpy(np.asarray(x)).float().to(self.device))
        return predict(*opt_vars), x
