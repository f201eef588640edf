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

from inference.brs import LBFGSParams
from inference.clicks import Click, points_tensor
from inference.focus import FocusParams, FocusRefiner
from inference.networks.base import ClickNetwork
from inference.refine import GuidedFilterParams, GuidedRefiner
from inference.refine_net import LearntRefiner, load_refiner
from inference.transforms import AddHorizontalFlip, LimitLongestSide, SigmoidForPred, Transform, ZoomIn
from inference.transforms.rescale import rescale_input

__all__ = ["BRS_PREV_MASK_CHOICES", "PredictorConfig", "ZoomInParams", "Predictor", "NoBRSPredictor",
           "checked_tta_scales", "image_to_tensor"]


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

    def build(self) -> ZoomIn:
        """A fresh ZoomIn transform with these settings."""
        return ZoomIn(self.target_size, self.skip_clicks, self.expansion_ratio, self.min_crop_size,
                      self.recompute_thresh_iou, self.prob_thresh, self.stale_roi_quirk)


BRS_PREV_MASK_CHOICES = ("optimised", "network")


@dataclass(frozen=True)
class PredictorConfig:
    """Everything a predictor needs besides the network; defaults = `get_predictor` / `evaluate_model.py`.

    `net_clicks_limit="auto"` means the mode's reference default (NoBRS None, RGB/DistMap-BRS 5, f-BRS 8).
    `brs_warm_start`: each click's BRS optimisation starts from the previous click's solution (True, the
    reference) or from the identity (False: zero scale/bias or input bias at every click).
    `refine`: guided-filter the returned map with the image (`inference.refine`); the network's next
    previous-mask input and ZoomIn's ROI still use the unrefined map. None (the reference): off.
    `refine_feedback`: with `refine`, the refined map (not the raw one) becomes the network's next
    previous-mask input; ZoomIn's ROI still follows the raw map.
    `brs_prev_mask`: which map a BRS mode feeds back as the network's next previous-mask input:
    "optimised" (the reference: the map after the click's optimisation) or "network" (the network's own
    prediction for the same clicks, without the optimisation's scale/bias or input bias). Either way the
    returned map and ZoomIn's ROI follow the optimised map. No effect in NoBRS.
    `brs_trust_iou`: BRS modes drop a click's optimisation (returning the unoptimised map, the variables reset
    to zero) when the optimised mask's IoU with the unoptimised mask for the same clicks is
    below this, i.e. when satisfying the clicks changed the object globally. None (the reference): off.
    `brs_click_radius`: BRS modes' corrective loss asks for the (2·r+1)² square around each click, at
    network-input resolution, to be on the click's side; 1 (a 3×3 square) is the reference, 0 only the clicked
    pixel. No effect in NoBRS.
    `focus`: after the map for click ≥ 2, re-predict the region the click changed at a finer resolution with the
    same network and blend it in (`inference.focus`); the blended map is also the next previous-mask input.
    None (the reference): off.
    `refine_net`: with `refine`, a learnt refiner's weights file applied after the guided filter
    (`inference.refine_net`); it sees the image, the raw and filtered maps and the clicks. None: off. Measured
    and not adopted (docs/model_card.md, "Learnt boundary refiner"); no refiner weights are shipped.
    `tta_scales`: extra network-input scales (each > 0 and not 1): every click's logits are the mean of the
    main pass's and one pass per scale on the transformed input resized by it (`inference.transforms.rescale`;
    the flip, when on, goes along), each brought back to the main pass's size. BRS modes optimise at the main
    scale only; f-BRS applies the click's optimised scale and bias, which are per channel, at every scale.
    The averaged map is the returned map and ZoomIn's, and the next previous-mask input unless
    `brs_prev_mask="network"` (which feeds back the main scale's unoptimised map). Empty (the reference): off.
    NoBRS and f-BRS-A/B/C only (RGB-/DistMap-BRS optimise a per-pixel bias).
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
    brs_prev_mask: str = "optimised"
    brs_trust_iou: float | None = None
    brs_click_radius: int = 1
    focus: FocusParams | None = None
    refine: GuidedFilterParams | None = None
    refine_feedback: bool = False
    refine_net: str | None = None
    tta_scales: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tta_scales", checked_tta_scales(self.tta_scales))
        if self.brs_prev_mask not in BRS_PREV_MASK_CHOICES:
            raise ValueError(f"brs_prev_mask must be one of {BRS_PREV_MASK_CHOICES}, got {self.brs_prev_mask!r}")
        if self.brs_prev_mask != "optimised" and self.refine_feedback:
            raise ValueError("refine_feedback and brs_prev_mask='network' both choose the previous-mask input")
        if self.brs_trust_iou is not None and not 0 < self.brs_trust_iou <= 1:
            raise ValueError(f"brs_trust_iou must be in (0, 1] or None, got {self.brs_trust_iou!r}")
        if not (isinstance(self.brs_click_radius, int) and self.brs_click_radius >= 0):
            raise ValueError(f"brs_click_radius must be an integer >= 0, got {self.brs_click_radius!r}")
        if self.focus is not None and (self.refine_feedback or self.brs_prev_mask != "optimised"):
            raise ValueError("focus sets the previous-mask input itself: not with refine_feedback or "
                             "brs_prev_mask='network'")
        if self.refine_net is not None and self.refine is None:
            raise ValueError("refine_net needs refine (the learnt refiner corrects the guided-filter map)")

    def clicks_limit(self, mode_default: int | None) -> int | None:
        """The effective net_clicks_limit."""
        return mode_default if self.net_clicks_limit == "auto" else self.net_clicks_limit


def checked_tta_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """`scales` as a tuple of floats; ValueError unless they are distinct numbers in (0, 16) other than 1."""
    values = tuple(scales)
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 16 or v == 1 for v in values) \
            or len(set(values)) != len(values):
        raise ValueError(f"tta_scales must be distinct numbers in (0, 16) other than 1, got {scales!r}")
    return tuple(float(v) for v in values)


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
    supports_tta_scales = False   # subclasses that implement `_logits_at_scale`

    def __init__(self, net: ClickNetwork | None, device: torch.device, config: PredictorConfig) -> None:
        if config.tta_scales and not self.supports_tta_scales:
            raise ValueError(f"tta_scales are not available in mode {self.mode!r} (NoBRS and f-BRS-A/B/C only)")
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
        self.learnt_refiner: LearntRefiner | None = None
        self._refine_net = load_refiner(config.refine_net, self.device) if config.refine_net is not None else None
        self.prev_prediction: torch.Tensor | None = None
        # Set by BRS predictors with brs_prev_mask="network": the click's unoptimised logits, same batch as
        # the optimised ones; None otherwise.
        self.network_logits: torch.Tensor | None = None
        self.main_scale = 1.0                          # network-input px per image px of the last main pass
        self.focus_box: tuple[int, int, int, int] | None = None   # last focus step's box, None if it did not run
        self.focus_refiner = (FocusRefiner(net, self.points, config.with_flip, config.focus)
                              if config.focus is not None and net is not None else None)
        self.index_offset = 0
        self.n_objective_evals = 0
        self.objective_values: list[float] = []
        self.brs_rejected = False   # BRS modes: the last click's optimisation was dropped (brs_trust_iou)

    # --- object lifecycle ----------------------------------------------------------------------------
    def set_input_image(self, image: np.ndarray) -> None:
        """Start a new object on uint8 (H, W, 3) RGB `image`; resets transforms and state."""
        self.original_image = image_to_tensor(image, self.device)
        self.refiner = GuidedRefiner(image, self.config.refine) if self.config.refine is not None else None
        self.learnt_refiner = LearntRefiner(self._refine_net, image) if self._refine_net is not None else None
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
        self.focus_box, self.brs_rejected = None, False
        prev_before = self.prev_prediction if prev_mask is None else prev_mask
        with torch.no_grad():
            probs = self._predict(list(clicks), prev_mask)
            if self.focus_refiner is not None and len(clicks) > 1:
                probs = self._focus(probs, prev_before, list(clicks))
        if self.refiner is None:
            return probs
        refined = self.refiner.refine(probs)
        if self.learnt_refiner is not None:
            refined = self.learnt_refiner.refine(probs, refined, clicks)
        if self.config.refine_feedback:
            self.prev_prediction = torch.from_numpy(np.array(refined, dtype=np.float32))[None, None].to(self.device)
        return refined

    def _focus(self, probs: np.ndarray, prev_before: torch.Tensor, clicks: list[Click]) -> np.ndarray:
        """The focus step (`inference.focus`) on float32 (H, W) `probs`; the blended map becomes the previous
        prediction when the step ran."""
        fused, self.focus_box = self.focus_refiner.refine(self.original_image, prev_before[0, 0].cpu().numpy(), probs,
                                                          clicks, self.main_scale)
        if self.focus_box is not None:
            self.prev_prediction = torch.from_numpy(fused)[None, None].to(self.device)
        return fused

    def _predict(self, clicks: list[Click], prev_mask: torch.Tensor | None) -> np.ndarray:
        image = self.original_image
        if self.net is not None and self.net.with_prev_mask:
            image = torch.cat([image, self.prev_prediction if prev_mask is None else prev_mask], dim=1)
        image_nd, click_lists, changed = image, [clicks], False
        for t in self.transforms:
            image_nd, click_lists = t.transform(image_nd, click_lists)
            changed |= t.image_changed
        self.network_logits = None
        roi = self.roi
        self.main_scale = image_nd.shape[3] / (image.shape[3] if roi is None else roi[3] - roi[2] + 1)
        logits = self._predict_logits(image_nd, click_lists, changed)
        if self.config.tta_scales:
            logits = self._average_over_scales(logits, image_nd, click_lists)
        network_prediction = None
        if self.network_logits is not None:
            # Inverse transforms keep state (ZoomIn's previous map); the optimised map must set it, as usual.
            saved = [t.get_state() for t in self.transforms]
            network_prediction = self._inverse_transform(self.network_logits, image_nd.shape[2:])
            for t, state in zip(self.transforms, saved):
                t.set_state(state)
        prediction = self._inverse_transform(logits, image_nd.shape[2:])
        if self.zoom_in is not None and self.zoom_in.check_possible_recalculation():
            return self._predict(clicks, None)
        self.prev_prediction = prediction if network_prediction is None else network_prediction
        return prediction.cpu().numpy()[0, 0].astype(np.float32, copy=False)

    def _average_over_scales(self, logits: torch.Tensor, image_nd: torch.Tensor,
                             click_lists: list[list[Click]]) -> torch.Tensor:
        """Mean of the main pass's logits (B, 1, h, w) and one pass per `config.tta_scales`, all at the
        transformed input's size (B, 1, H, W)."""
        size = image_nd.shape[2:]
        total = F.interpolate(logits, size=size, mode="bilinear", align_corners=True)
        for scale in self.config.tta_scales:
            scaled_image, scaled_clicks = rescale_input(image_nd, click_lists, scale)
            scaled = self._logits_at_scale(scaled_image, scaled_clicks)
            total = total + F.interpolate(scaled, size=size, mode="bilinear", align_corners=True)
        return total / (1 + len(self.config.tta_scales))

    def _logits_at_scale(self, image_nd: torch.Tensor, click_lists: list[list[Click]]) -> torch.Tensor:
        """Logits (B, 1, h, w) at the size of `image_nd`, a rescaled copy of the click's transformed batch, with
        whatever the main pass settled (f-BRS: the optimised scale and bias); subclasses with
        `supports_tta_scales`."""
        raise NotImplementedError

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
    supports_tta_scales = True

    def _predict_logits(self, image_nd: torch.Tensor, click_lists: list[list[Click]],
                        image_changed: bool) -> torch.Tensor:
        return self.net(image_nd, self.points(click_lists))["instances"]

    def _logits_at_scale(self, image_nd: torch.Tensor, click_lists: list[list[Click]]) -> torch.Tensor:
        return self._predict_logits(image_nd, click_lists, True)
