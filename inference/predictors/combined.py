"""The SAM-class network drives, our click network finishes at full resolution.

Each click, the SAM-class predictor (`inference.predictors.sam`: NoBRS or f-BRS on the cached embedding)
predicts the object from all clicks; its map becomes the previous-mask input of our click CNN, which predicts
again with every click through its own input pipeline (ZoomIn's crop around the object, the flip), at a finer
resolution than SAM's 256 × 256 logits. From click `SamRefinedNetwork.refine_from_click` on the returned map is
the CNN's, before it SAM's (a lone click on a cluttered scene is where SAM's prior on objects is strongest).
SAM's next mask input stays its own low-res logits, so its trajectory does not depend on the finish. The guided
filter (`config.refine`) is applied last.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from inference.clicks import Click
from inference.networks.base import ClickNetwork
from inference.networks.sam.model import SamModel
from inference.postprocess.guided_filter import GuidedRefiner
from inference.predictors.base import NoBRSPredictor, PredictorConfig
from inference.predictors.sam import SAM_MODES

__all__ = ["SamRefinedNetwork", "SamRefinedPredictor"]


class SamRefinedNetwork(nn.Module):
    """The two networks of the combination; `family = "sam-refined"` selects `SamRefinedPredictor`."""

    family = "sam-refined"

    def __init__(self, sam: SamModel, refiner: ClickNetwork, refine_from_click: int = 1) -> None:
        super().__init__()
        if refine_from_click < 1:
            raise ValueError(f"refine_from_click must be ≥ 1, got {refine_from_click}")
        self.sam, self.refiner, self.refine_from_click = sam, refiner, refine_from_click


class SamRefinedPredictor:
    """`mode` is the SAM-class predictor's (nobrs, f-brs-a, f-brs-b); the finish is always our network's NoBRS."""

    def __init__(self, net: SamRefinedNetwork, device: torch.device, config: PredictorConfig, mode: str) -> None:
        if mode not in SAM_MODES:
            raise ValueError(f"mode {mode!r} is not available for the SAM-class network; its modes: "
                             f"{', '.join(SAM_MODES)}")
        self.mode, self.config, self.start = mode, config, net.refine_from_click
        unfiltered = dataclasses.replace(config, refine=None)
        self.sam = SAM_MODES[mode](net.sam, device, unfiltered)
        self.finish = NoBRSPredictor(net.refiner, device, unfiltered)
        self.refiner: GuidedRefiner | None = None

    @property
    def roi(self) -> tuple[int, int, int, int] | None:
        """The finishing network's ZoomIn ROI `(rmin, rmax, cmin, cmax)` inclusive, or None."""
        return self.finish.roi

    @property
    def n_objective_evals(self) -> int:
        return self.sam.n_objective_evals

    @property
    def objective_values(self) -> list[float]:
        return self.sam.objective_values

    def set_input_image(self, image: np.ndarray) -> None:
        """Start a new object on uint8 (H, W, 3) RGB `image`."""
        self.sam.set_input_image(image)
        self.finish.set_input_image(image)
        self.refiner = GuidedRefiner(image, self.config.refine) if self.config.refine is not None else None

    def set_prev_mask(self, mask: np.ndarray) -> None:
        """Float (H, W) `mask` in [0, 1] as both networks' previous mask."""
        self.sam.set_prev_mask(mask)
        self.finish.set_prev_mask(mask)

    def get_state(self) -> dict[str, Any]:
        return {"sam": self.sam.get_state(), "finish": self.finish.get_state()}

    def set_state(self, state: dict[str, Any]) -> None:
        self.sam.set_state(state["sam"])
        self.finish.set_state(state["finish"])

    def predict(self, clicks: Sequence[Click]) -> np.ndarray:
        """Probability map float32 (H, W) at image size after `clicks` ((x, y) image pixels, in order)."""
        sam_probs = self.sam.predict(clicks)
        self.finish.prev_prediction = torch.from_numpy(sam_probs)[None, None].to(self.finish.device)
        finished = self.finish.predict(clicks)
        probs = finished if len(clicks) >= self.start else sam_probs
        return probs if self.refiner is None else self.refiner.refine(probs)
