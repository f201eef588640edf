"""f-BRS-A/B/C: optimise a per-channel scale and bias at an intermediate feature map (spec §3.2).

Only the network tail after the insertion point runs per objective evaluation; the features at the insertion
point are cached while `#clicks > net_clicks_limit` and the transformed image is unchanged. The variables
`[s, b]` (feature·(1 + s) + b) are zero-initialised once per object and warm-started for every later click,
also across ZoomIn ROI changes.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from inference.predictors.brs import ScaleBiasVariables
from inference.clicks import Click
from inference.predictors.brs_base import BRSPredictor


class FeatureBRSPredictor(BRSPredictor):
    """Shared implementation; `letter` selects the network's insertion point (A, B or C)."""

    default_clicks_limit = 8
    letter = "B"

    def __init__(self, net, device, config) -> None:
        super().__init__(net, device, config)
        points = net.brs_insertion_points
        if self.letter not in points:
            raise ValueError(f"network {type(net).__name__} has no f-BRS-{self.letter} insertion point "
                             f"(has {sorted(points)})")
        self.insertion_point = points[self.letter]
        self.channels = int(net.insertion_channels(self.insertion_point))

    def _reset_brs_state(self) -> None:
        self.opt_data: np.ndarray | None = None        # flat (2·B·C,) [scales..., biases...]
        self.input_data: torch.Tensor | None = None    # cached insertion-point features (B', C, h, w)
        self.extras: Any = None                        # what the tail needs besides them (e.g. skip features)

    def get_state(self) -> dict:
        return {**super().get_state(), "opt_data": self.opt_data, "input_data": self.input_data,
                "extras": self.extras}

    def set_state(self, state: dict) -> None:
        super().set_state(state)
        self.opt_data, self.input_data, self.extras = state["opt_data"], state["input_data"], state["extras"]

    def _predict_logits(self, image_nd: torch.Tensor, click_lists: list[list[Click]],
                        image_changed: bool) -> torch.Tensor:
        net, point = self.net, self.insertion_point
        n_clicks = len(click_lists[0])
        batch = self.unflipped_batch(image_nd)
        if self.opt_data is None or self.opt_data.shape[0] // (2 * self.channels) != batch:
            self.opt_data = np.zeros(batch * 2 * self.channels, dtype=np.float32)

        limit = self.net_clicks_limit
        if (limit is None or n_clicks <= limit) or image_changed or self.input_data is None:
            image, prev_mask = net.prepare_input(image_nd)
            coord = net.get_coord_features(image, prev_mask, self.points(click_lists))
            self.input_data, self.extras = net.forward_to_insertion(point, image, coord)
        features, extras, size = self.input_data, self.extras, image_nd.shape[2:]

        def predict(scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            logits = self._tail(features, extras, scale, bias, batch)
            return F.interpolate(logits, size=size, mode="bilinear", align_corners=True)

        logits, self.opt_data = self._optimise(image_nd, click_lists, predict, self._variables(), self.opt_data)
        return logits

    def _variables(self) -> ScaleBiasVariables:
        return ScaleBiasVariables(self.config.reg_weight, self.config.reg_bias_weight)

    def _tail(self, features: torch.Tensor, extras: Any, scale: torch.Tensor, bias: torch.Tensor,
              batch: int) -> torch.Tensor:
        """The network after the insertion point on `features · scale + bias`; scale and bias flat (batch·C,),
        repeated for the flipped half when the flip is on."""
        scale, bias = scale.view(batch, -1, 1, 1), bias.view(batch, -1, 1, 1)
        if self.config.with_flip:
            scale, bias = scale.repeat(2, 1, 1, 1), bias.repeat(2, 1, 1, 1)
        return self.net.forward_from_insertion(self.insertion_point, features * scale + bias, extras)


class FBRSAPredictor(FeatureBRSPredictor):
    """f-BRS-A (DeepLab: after layer4 c4; HRNet: aggregated features)."""

    mode, letter = "f-brs-a", "A"


class FBRSBPredictor(FeatureBRSPredictor):
    """f-BRS-B (DeepLab: after ASPP + skip concat; HRNet: same point as A)."""

    mode, letter = "f-brs-b", "B"


class FBRSCPredictor(FeatureBRSPredictor):
    """f-BRS-C (DeepLab: after the DeepLab head; HRNet: after OCR, before cls_head)."""

    mode, letter = "f-brs-c", "C"
