"""The predictor skeleton: transforms around a network call, per-object state, NoBRS (spec §2, §9).

A predictor is built for one network and one set of settings; `set_input_image` starts a new object on an
image; `predict(clicks)` returns the probability map after the latest click. All per-object state lives in
the predictor instance and is exposed as an immutable value through `get_state` / `set_state` (exact undo).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from inference.clicks import Click, points_tensor
from inference.networks.base import ClickNetwork
from inference.postprocess.guided_filter import GuidedFilterParams, GuidedRefiner
from inference.predictors.brs import LBFGSParams
from inference.transforms import AddHorizontalFlip, LimitLongestSide, SigmoidForPred, Transform, ZoomIn

__all__ = ["PredictorConfig", "ZoomInParams", "Predictor", "NoBRSPredictor", "image_to_tensor"]


@dataclass(frozen=True)
class ZoomInParams:
    """ZoomIn settings (spec §2.3); defaults = the evaluation's `ZoomIn(target_size=400)`."""

    target_size: int | tuple[int, int] = 400
    skip_clicks: int = 1
    expansion_ratio: float = 1.4
    min_crop_size: float = 200
    recompute_thresh_iou: float = 0.5
    prob_thresh: float = 0.5
    stale_roi_quirk: bool = True

    def __post_init__(self) -> None:
        if not (_is_int(self.skip_clicks) and self.skip_clicks >= -1):
            raise ValueError(f"skip_clicks must be an integer ≥ -1, got {self.skip_clicks!r}")
        if not (self.min_crop_size > 0 and 0 < self.recompute_thresh_iou <= 1 and 0 < self.prob_thresh < 1):
            raise ValueError(f"min_crop_size must be > 0, recompute_thresh_iou in (0, 1] and prob_thresh in "
                             f"(0, 1), got {self}")
        self.build()   # the transform's own checks (target size, expansion ratio)

    def build(self) -> ZoomIn:
        """A fresh ZoomIn transform with these settings."""
        return ZoomIn(self.target_size, self.skip_clicks, self.expansion_ratio, self.min_crop_size,
                      self.recompute_thresh_iou, self.prob_thresh, self.stale_roi_quirk)


@dataclass(frozen=True)
class PredictorConfig:
    """A predictor's settings besides the network: the reference predictor's arguments (`get_predictor` and
    `evaluate_model.py` defaults) plus the app's guided filter. Named combinations live in
    `inference.predictors.presets` (`app`, what the live workers run; `reference`, the papers').

    prob_thresh: the mask threshold of BRS's early exit and of the evaluation (0.49).
    with_flip: average the logits of the image and its horizontal flip.
    zoom_in: ZoomIn settings, or None (whole image at every click).
    max_size: LimitLongestSide for large images (None: off).
    net_clicks_limit: clicks given to the network: "auto" (the mode's reference default: NoBRS all,
        RGB/DistMap-BRS 5, f-BRS 8), None (all) or a number; later clicks act through BRS only.
    optimize_after_n_clicks: BRS optimises from the click after this many (reference 1).
    lbfgs: L-BFGS-B budget and tolerances.
    reg_weight, reg_bias_weight: BRS regulariser, f-BRS w·(Σs² + w_b·Σb²), RGB/DistMap-BRS w·Σx².
    min_iou_diff: BRS early exit once the mask's IoU with the previous evaluation's exceeds 1 − this.
    brs_warm_start: each click's optimisation starts from the previous click's solution (True, the
        reference) or from the identity (False: zero scale/bias or input bias at every click).
    refine: guided-filter the returned map with the image (`inference.postprocess`); the network's next
        previous-mask input and ZoomIn's ROI still use the unrefined map. None (the reference): off.
    """

    prob_thresh: float = 0.49
    with_flip: bool = True
    zoom_in: ZoomInParams | None = field(default_factory=ZoomInParams)
    max_size: int | None = None
    net_clicks_limit: int | None | str = "auto"
    optimize_after_n_clicks: int = 1
    lbfgs: LBFGSParams = field(default_factory=LBFGSParams)
    reg_weight: float = 1e-3
    reg_bias_weight: float = 10.0
    min_iou_diff: float = 0.01
    brs_warm_start: bool = True
    refine: GuidedFilterParams | None = None

    def __post_init__(self) -> None:
        if not 0 < self.prob_thresh < 1:
            raise ValueError(f"prob_thresh must be in (0, 1), got {self.prob_thresh!r}")
        if self.max_size is not None and not (_is_int(self.max_size) and self.max_size >= 16):
            raise ValueError(f"max_size must be None or an integer ≥ 16, got {self.max_size!r}")
        if not (self.net_clicks_limit in ("auto", None) or (_is_int(self.net_clicks_limit)
                                                          and self.net_clicks_limit >= 1)):
            raise ValueError(f"net_clicks_limit must be 'auto', None or an integer ≥ 1, "
                             f"got {self.net_clicks_limit!r}")
        if not (_is_int(self.optimize_after_n_clicks) and self.optimize_after_n_clicks >= 0):
            raise ValueError(f"optimize_after_n_clicks must be an integer ≥ 0, got {self.optimize_after_n_clicks!r}")
        if not (self.reg_weight >= 0 and self.reg_bias_weight >= 0):
            raise ValueError(f"reg_weight and reg_bias_weight must be ≥ 0, got {self.reg_weight!r}, "
                             f"{self.reg_bias_weight!r}")
        if not 0 <= self.min_iou_diff < 1:
            raise ValueError(f"min_iou_diff must be in [0, 1), got {self.min_iou_diff!r}")

    def clicks_limit(self, mode_default: int | None) -> int | None:
        """The effective net_clicks_limit."""
        return mode_default if self.net_clicks_limit == "auto" else self.net_clicks_limit


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def image_to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (H, W, 3) RGB → float32 (1, 3, H, W) in [0, 1] (torchvision `ToTensor` semantics)."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("image must be a uint8 numpy array of shape (H, W, 3) (RGB); got "
                         f"{getattr(image, 'dtype', type(image))} {getattr(image, 'shape', '')}")
    if min(image.shape[:2]) < 2:
        raise ValueError(f"image too small: {image.shape[:2]}")
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).to(torch.float32).div(255)
    return tensor.unsqueeze(0).to(device)


class Predictor:
    """Transforms + network call + inverse transforms; subclasses implement `_predict_logits`."""

    mode: str = "nobrs"
    default_clicks_limit: int | None = None

    def __init__(self, net: ClickNetwork | None, device: torch.device, config: PredictorConfig) -> None:
        self.net = net
        self.device = torch.device(device)
        self.config = config
        self.net_clicks_limit = config.clicks_limit(self.default_clicks_limit)
        self.zoom_in = config.zoom_in.build() if config.zoom_in is not None else None
        self.transforms: list[Transform] = [self.zoom_in] if self.zoom_in is not None else []
        if config.max_size is not None:
            self.transforms.append(LimitLongestSide(config.max_size))
        self.transforms.append(SigmoidForPred())
        if config.with_flip:
            self.transforms.append(AddHorizontalFlip())
        self.original_image: torch.Tensor | None = None
        self.refiner: GuidedRefiner | None = None
        self.prev_prediction: torch.Tensor | None = None
        self.index_offset = 0
        self.n_objective_evals = 0
        self.objective_values: list[float] = []

    # --- object lifecycle ----------------------------------------------------------------------------
    def set_input_image(self, image: np.ndarray) -> None:
        """Start a new object on uint8 (H, W, 3) RGB `image`; resets transforms and state."""
        self.original_image = image_to_tensor(image, self.device)
        self.refiner = GuidedRefiner(image, self.config.refine) if self.config.refine is not None else None
        for t in self.transforms:
            t.reset()
        self.prev_prediction = torch.zeros_like(self.original_image[:, :1])
        self.index_offset = 0
        self._reset_brs_state()

    def set_prev_mask(self, mask: np.ndarray) -> None:
        """Use float (H, W) `mask` in [0, 1] as the previous prediction (RITM ITER-M input); like the RITM demo
        with an initial mask, later click indices are offset by 1."""
        if self.original_image is None:
            raise RuntimeError("set_input_image first")
        mask = np.asarray(mask, dtype=np.float32)
        if mask.shape != tuple(self.original_image.shape[2:]):
            raise ValueError(f"prev mask shape {mask.shape} != image shape {tuple(self.original_image.shape[2:])}")
        self.prev_prediction = torch.from_numpy(mask.copy())[None, None].to(self.device)
        self.index_offset = 1

    def _reset_brs_state(self) -> None:
        """Subclasses: forget optimisation variables and caches."""

    # --- state ---------------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Immutable snapshot: transform states, prev prediction, index offset + subclass state."""
        return {"transforms": [t.get_state() for t in self.transforms], "prev": self.prev_prediction,
                "index_offset": self.index_offset}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a `get_state` snapshot."""
        for t, s in zip(self.transforms, state["transforms"]):
            t.set_state(s)
        self.prev_prediction = state["prev"]
        self.index_offset = state["index_offset"]

    @property
    def roi(self) -> tuple[int, int, int, int] | None:
        """ZoomIn ROI `(rmin, rmax, cmin, cmax)` inclusive (row/col order, image pixels), or None."""
        return self.zoom_in.roi if self.zoom_in is not None else None

    # --- prediction ----------------------------------------------------------------------------------
    def predict(self, clicks: Sequence[Click], prev_mask: torch.Tensor | None = None) -> np.ndarray:
        """Probability map float32 (H, W) at image size after `clicks` ((x, y) image pixels, in order)."""
        if self.original_image is None:
            raise RuntimeError("set_input_image first")
        if not clicks:
            raise ValueError("at least one click is needed")
        self.n_objective_evals, self.objective_values = 0, []
        with torch.no_grad():
            probs = self._predict(list(clicks), prev_mask)
        return probs if self.refiner is None else self.refiner.refine(probs)

    def _predict(self, clicks: list[Click], prev_mask: torch.Tensor | None) -> np.ndarray:
        image = self.original_image
        if self.net is not None and self.net.with_prev_mask:
            image = torch.cat([image, self.prev_prediction if prev_mask is None else prev_mask], dim=1)
        image_nd, click_lists, changed = image, [clicks], False
        for t in self.transforms:
            image_nd, click_lists = t.transform(image_nd, click_lists)
            changed |= t.image_changed
        logits = self._predict_logits(image_nd, click_lists, changed)
        prediction = self._inverse_transform(logits, image_nd.shape[2:])
        if self.zoom_in is not None and self.zoom_in.check_possible_recalculation():
            return self._predict(clicks, None)
        self.prev_prediction = prediction
        return prediction.cpu().numpy()[0, 0].astype(np.float32, copy=False)

    def _inverse_transform(self, logits: torch.Tensor, size: torch.Size) -> torch.Tensor:
        """Logits (B, 1, h, w) of the transformed batch → probabilities (1, 1, H, W) at image size."""
        prediction = F.interpolate(logits, size=size, mode="bilinear", align_corners=True)
        for t in reversed(self.transforms):
            prediction = t.inv_transform(prediction)
        return prediction

    def unflipped_batch(self, image_nd: torch.Tensor) -> int:
        """The number of images in the transformed batch `image_nd` without their flipped copies."""
        return image_nd.shape[0] // 2 if self.config.with_flip else image_nd.shape[0]

    def points(self, click_lists: Sequence[Sequence[Click]]) -> torch.Tensor:
        """The network's points tensor for the transformed click lists (first `net_clicks_limit` clicks)."""
        with_index = self.net.family != "fbrs"
        return points_tensor(click_lists, self.net_clicks_limit, with_index=with_index,
                             index_offset=self.index_offset, device=self.device)

    def _predict_logits(self, image_nd: torch.Tensor, click_lists: list[list[Click]],
                        image_changed: bool) -> torch.Tensor:
        """Logits (B, 1, h, w) for the transformed batch (any size; the caller upsamples)."""
        raise NotImplementedError


class NoBRSPredictor(Predictor):
    """Plain forward pass of the network (no optimisation)."""

    mode = "nobrs"

    def _predict_logits(self, image_nd: torch.Tensor, click_lists: list[list[Click]],
                        image_changed: bool) -> torch.Tensor:
        return self.net(image_nd, self.points(click_lists))["instances"]

