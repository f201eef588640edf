"""Focus refinement: re-predict the region a correction click changed, at a higher resolution (after FocalClick).

After click k the predictor has a map for the whole image, computed on ZoomIn's crop around the object (long
side 400 px). A correction late in the sequence usually changes a small region, where that crop's resolution
(and the network's 1/4 output stride) limits how close to the true boundary the map can get. The focus step
takes the connected region that changed between the previous and the new map and contains the new click, expands
its box, crops the image and the new map there, resizes the crop to `target_size`, and runs the same network on
it with every click (the new map as the previous-mask input). The result is blended into the map inside the box
(a linear ramp at the box's inner sides). It runs only when the crop is seen at least `min_gain` times finer than
by the main pass; otherwise the map is returned unchanged.

Boxes are `(rmin, rmax, cmin, cmax)` inclusive (row/column order, as ZoomIn's); clicks are (x, y).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from inference.clicks import Click
from inference.transforms.flip import AddHorizontalFlip
from inference.transforms.roi import Box, clamp_bbox, expand_bbox
from inference.transforms.zoom_in import clicks_into_roi, crop_and_resize

__all__ = ["FocusParams", "focus_box", "blend_weights", "FocusRefiner"]


@dataclass(frozen=True)
class FocusParams:
    """target_size: long side (px) the focus crop is resized to; expansion: box scale about its centre;
    min_size: smallest box side (image px); min_gain: run only if the crop's pixels are at least this many
    times finer than the main pass's; ramp: blend ramp width as a fraction of the box side."""

    target_size: int = 320
    expansion: float = 1.75
    min_size: int = 40
    min_gain: float = 1.5
    ramp: float = 0.15
    mask_thresh: float = 0.5

    def __post_init__(self) -> None:
        if self.target_size < 16 or self.expansion < 1 or self.min_size < 4 or self.min_gain <= 0:
            raise ValueError(f"bad focus settings {self}")
        if not 0 <= self.ramp < 0.5 or not 0 < self.mask_thresh < 1:
            raise ValueError(f"bad focus settings {self}")


def focus_box(prev_mask: np.ndarray, new_mask: np.ndarray, click: Click, params: FocusParams) -> Box:
    """Box around the region that changed at `click`: the connected component of `prev_mask ^ new_mask` (bool
    (H, W)) holding the click's pixel, or the click's pixel alone when it did not change; expanded by
    `params.expansion` (sides at least `params.min_size`) and clamped to the image."""
    height, width = new_mask.shape
    x = min(max(int(round(click.x)), 0), width - 1)
    y = min(max(int(round(click.y)), 0), height - 1)
    changed = (prev_mask != new_mask).astype(np.uint8)
    box: Box = (y, y, x, x)
    if changed[y, x]:
        _, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
        left, top, w, h = stats[labels[y, x], :4]
        box = (int(top), int(top + h - 1), int(left), int(left + w - 1))
    box = expand_bbox(box, params.expansion, params.min_size)
    return clamp_bbox(box, height, width)


def blend_weights(box: Box, shape: tuple[int, int], ramp: float) -> np.ndarray:
    """float32 (h, w) weights of the focus map inside `box`: 1 in the middle, falling linearly to 0 over
    `ramp`·side at each side that lies inside the image (sides on the image border keep weight 1)."""
    rmin, rmax, cmin, cmax = box
    h, w = rmax - rmin + 1, cmax - cmin + 1

    def axis(n: int, at_start: bool, at_end: bool) -> np.ndarray:
        width = max(int(round(ramp * n)), 0)
        weights = np.ones(n, dtype=np.float32)
        if width > 0:
            rise = (np.arange(width, dtype=np.float32) + 0.5) / width
            if not at_start:
                weights[:width] = np.minimum(weights[:width], rise)
            if not at_end:
                weights[n - width:] = np.minimum(weights[n - width:], rise[::-1])
        return weights

    rows = axis(h, rmin == 0, rmax == shape[0] - 1)
    cols = axis(w, cmin == 0, cmax == shape[1] - 1)
    return np.outer(rows, cols)


class FocusRefiner:
    """The focus step for one predictor: the network, its points encoding and the flip setting.

    `points(click_lists)` is the predictor's encoding (its net_clicks_limit and index offset)."""

    def __init__(self, net, points: Callable[[Sequence[Sequence[Click]]], torch.Tensor], with_flip: bool,
                 params: FocusParams) -> None:
        self.net, self.points, self.params = net, points, params
        self.flip = AddHorizontalFlip() if with_flip else None

    @torch.no_grad()
    def refine(self, image: torch.Tensor, prev_probs: np.ndarray, probs: np.ndarray, clicks: Sequence[Click],
               main_scale: float) -> tuple[np.ndarray, Box | None]:
        """Blend the focus prediction into `probs`.

        Args:
            image: float32 (1, 3, H, W) in [0, 1], the original image (the network's previous-mask channel, if
                it has one, is `probs`).
            prev_probs, probs: float32 (H, W) maps before and after the last click.
            clicks: every click so far, (x, y) image pixels; the last one is the new click.
            main_scale: network-input pixels per image pixel in the main pass (ZoomIn's target / ROI side).
        Returns (float32 (H, W) map, the box used or None when the step did not run).
        """
        thresh = self.params.mask_thresh
        box = focus_box(prev_probs > thresh, probs > thresh, clicks[-1], self.params)
        rmin, rmax, cmin, cmax = box
        long_side = max(rmax - rmin + 1, cmax - cmin + 1)
        if self.params.target_size / long_side < self.params.min_gain * main_scale:
            return probs, None
        if self.net.with_prev_mask:
            prev = torch.from_numpy(np.ascontiguousarray(probs))[None, None].to(image.device, image.dtype)
            image = torch.cat([image, prev], dim=1)
        crop = crop_and_resize(image, box, self.params.target_size)
        click_lists = [clicks_into_roi(clicks, box, (crop.shape[2], crop.shape[3]))]
        if self.flip is not None:
            crop, click_lists = self.flip.transform(crop, click_lists)
        logits = self.net(crop, self.points(click_lists))["instances"]
        if self.flip is not None:
            logits = self.flip.inv_transform(logits)
        focus = torch.sigmoid(F.interpolate(logits, size=(rmax - rmin + 1, cmax - cmin + 1), mode="bilinear",
                                            align_corners=True))[0, 0].cpu().numpy()
        weights = blend_weights(box, probs.shape, self.params.ramp)
        fused = probs.copy()
        inside = fused[rmin:rmax + 1, cmin:cmax + 1]
        fused[rmin:rmax + 1, cmin:cmax + 1] = weights * focus + (1 - weights) * inside
        return fused, box
