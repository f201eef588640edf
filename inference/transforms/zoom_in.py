"""ZoomIn: crop the image around the current object and resize it for the network (spec §2.3).

Reference behaviour (RITM `isegm/inference/transforms/zoom_in.py`), parameters included: target size (int →
longest side keeps the aspect; (h, w) → fixed size, RITM GUI style), `skip_clicks` (−1: the whole image is
the ROI when there is no object yet), expansion ratio, minimum crop size, the box-IoU threshold for
recomputing the ROI and its own probability threshold (0.5, independent of the predictor's 0.49).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from inference.clicks import Click
from inference.transforms.base import ClickLists, Transform
from inference.transforms.roi import Box, bbox_from_mask, bbox_iou, clamp_bbox, expand_bbox


def object_roi(prev_mask: np.ndarray, clicks: Sequence[Click], expansion_ratio: float,
               min_crop_size: float | None) -> Box:
    """Candidate ROI: bbox of the bool (H, W) mask with every positive click's pixel set, expanded, clamped."""
    mask = prev_mask.copy()
    for click in clicks:
        if click.positive:
            mask[int(click.y), int(click.x)] = True
    box = expand_bbox(bbox_from_mask(mask), expansion_ratio, min_crop_size)
    return clamp_bbox(box, mask.shape[0], mask.shape[1])


def roi_contains_positive_clicks(roi: Box, clicks: Sequence[Click]) -> bool:
    """Reference test (note the half-open `>= rmax`: a click on the ROI's last row/col counts as outside)."""
    rmin, rmax, cmin, cmax = roi
    for click in clicks:
        if click.positive and (click.y < rmin or click.y >= rmax or click.x < cmin or click.x >= cmax):
            return False
    return True


def crop_and_resize(image: torch.Tensor, roi: Box, target_size: int | tuple[int, int]) -> torch.Tensor:
    """Crop `(B, C, H, W)` to the inclusive `roi` and resize bilinearly (align_corners=True) to the target:
    int → longest side = target (`round(h·s)`, `round(w·s)` with banker's rounding), (h, w) → fixed size."""
    rmin, rmax, cmin, cmax = roi
    height, width = rmax - rmin + 1, cmax - cmin + 1
    if isinstance(target_size, (tuple, list)):
        new_height, new_width = int(target_size[0]), int(target_size[1])
    else:
        scale = target_size / max(height, width)
        new_height, new_width = int(round(height * scale)), int(round(width * scale))
    with torch.no_grad():
        crop = image[:, :, rmin:rmax + 1, cmin:cmax + 1]
        return F.interpolate(crop, size=(new_height, new_width), mode="bilinear", align_corners=True)


def clicks_into_roi(clicks: Sequence[Click], roi: Box, crop_shape: tuple[int, int]) -> list[Click]:
    """(x, y) image clicks → (x, y) in `roi` resized to `crop_shape` (h, w), the reference's mapping
    `x' = w·(x − cmin) / (cmax − cmin + 1)` (clicks outside the ROI map outside the crop)."""
    rmin, rmax, cmin, cmax = roi
    crop_h, crop_w = crop_shape
    return [c.moved(x=crop_w * (c.x - cmin) / (cmax - cmin + 1), y=crop_h * (c.y - rmin) / (rmax - rmin + 1))
            for c in clicks]


class ZoomIn(Transform):
    """Crop-and-resize around the object predicted at the previous click.

    `stale_roi_quirk=True` (reference-compatible, the default so that evaluations match the official
    protocol and the fixtures): when the previous mask is empty while an ROI is active and `skip_clicks ≥ 0`,
    the full image goes to the network but the OLD ROI is still used for the paste-back, so the full-image
    output is squeezed into the ROI (spec §2.3/§8.4; visible in the fixtures' `zoomsmall` runs).
    `stale_roi_quirk=False` is the corrected behaviour: the ROI is dropped, the output is pasted as the full
    image, and `image_changed` is raised so that BRS caches follow the new input.
    """

    def __init__(self, target_size: int | tuple[int, int] = 400, skip_clicks: int = 1,
                 expansion_ratio: float = 1.4, min_crop_size: float = 200, recompute_thresh_iou: float = 0.5,
                 prob_thresh: float = 0.5, stale_roi_quirk: bool = True) -> None:
        if isinstance(target_size, (tuple, list)):
            if len(target_size) != 2 or min(target_size) < 1:
                raise ValueError(f"fixed target_size must be (h, w) >= 1, got {target_size!r}")
            target_size = (int(target_size[0]), int(target_size[1]))
        elif target_size < 1:
            raise ValueError(f"target_size must be >= 1, got {target_size!r}")
        if expansion_ratio <= 0:
            raise ValueError(f"expansion_ratio must be > 0, got {expansion_ratio!r}")
        self.target_size = target_size
        self.skip_clicks = skip_clicks
        self.expansion_ratio = expansion_ratio
        self.min_crop_size = min_crop_size
        self.recompute_thresh_iou = recompute_thresh_iou
        self.prob_thresh = prob_thresh
        self.stale_roi_quirk = stale_roi_quirk
        self.reset()

    # --- state ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the ROI and the previous probabilities."""
        self.image_changed = False
        self._input_shape: tuple[int, ...] | None = None
        self._object_roi: Box | None = None
        self._prev_probs: np.ndarray | None = None   # (1, 1, H, W) float32, last pasted-back output
        self._roi_shape: tuple[int, int] | None = None

    def get_state(self) -> Any:
        """Immutable snapshot (the prev-probs array is never modified in place)."""
        return (self._input_shape, self._object_roi, self._prev_probs, self._roi_shape, self.image_changed)

    def set_state(self, state: Any) -> None:
        """Restore a `get_state` snapshot."""
        (self._input_shape, self._object_roi, self._prev_probs, self._roi_shape, self.image_changed) = state

    @property
    def roi(self) -> Box | None:
        """Current ROI `(rmin, rmax, cmin, cmax)` inclusive, or None."""
        return self._object_roi

    # --- forward -------------------------------------------------------------------------------------
    def transform(self, image: torch.Tensor, click_lists: Sequence[Sequence[Click]]
                  ) -> tuple[torch.Tensor, ClickLists]:
        """(1, C, H, W) + one click list → ROI crop resized to the target, clicks mapped to float coords."""
        if image.shape[0] != 1 or len(click_lists) != 1:
            raise ValueError("ZoomIn works on a single image (apply it before AddHorizontalFlip)")
        self.image_changed = False
        clicks = list(click_lists[0])
        if len(clicks) <= self.skip_clicks:
            return image, [clicks]

        self._input_shape = tuple(image.shape)
        candidate = None
        if self._prev_probs is not None:
            prev_mask = self._prev_probs[0, 0] > self.prob_thresh
            if prev_mask.any():
                candidate = object_roi(prev_mask, clicks, self.expansion_ratio, self.min_crop_size)

        if candidate is None:
            if self.skip_clicks >= 0:
                if not self.stale_roi_quirk and self._object_roi is not None:
                    self._object_roi, self._roi_shape, self.image_changed = None, None, True
                # Reference quirk (stale_roi_quirk): _object_roi is kept, so inv_transform squeezes
                # the full-image output into it.
                return image, [clicks]
            candidate = (0, image.shape[2] - 1, 0, image.shape[3] - 1)

        if (self._object_roi is None or not roi_contains_positive_clicks(self._object_roi, clicks)
                or bbox_iou(candidate, self._object_roi) < self.recompute_thresh_iou):
            self._object_roi = candidate
            self.image_changed = True
        # Recomputed every call: in RITM the image carries the prev-mask channel, which changes per click.
        roi_image = crop_and_resize(image, self._object_roi, self.target_size)
        self._roi_shape = (roi_image.shape[2], roi_image.shape[3])
        return roi_image, [self._transform_clicks(clicks)]

    def _transform_clicks(self, clicks: Sequence[Click]) -> list[Click]:
        return clicks_into_roi(clicks, self._object_roi, self._roi_shape)

    # --- inverse -------------------------------------------------------------------------------------
    def inv_transform(self, output: torch.Tensor) -> torch.Tensor:
        """(1, 1, h, w) probabilities → (1, 1, H, W): resized to the ROI and pasted into zeros."""
        if self._object_roi is None:
            self._prev_probs = output.detach().cpu().numpy()
            return output
        if output.shape[0] != 1:
            raise ValueError("ZoomIn.inv_transform expects a single map")
        rmin, rmax, cmin, cmax = self._object_roi
        resized = F.interpolate(output, size=(rmax - rmin + 1, cmax - cmin + 1), mode="bilinear",
                                align_corners=True)
        if self._prev_probs is not None:
            full = torch.zeros(self._prev_probs.shape, device=output.device, dtype=output.dtype)
            full[:, :, rmin:rmax + 1, cmin:cmax + 1] = resized
        else:
            full = resized
        self._prev_probs = full.detach().cpu().numpy()
        return full

    def check_possible_recalculation(self) -> bool:
        """Reference `skip_clicks == 0` behaviour: recompute at once with zoom if the new mask's ROI covers
        less than half of the image (box IoU) and no ROI exists yet."""
        if self._prev_probs is None or self._object_roi is not None or self.skip_clicks > 0:
            return False
        mask = self._prev_probs[0, 0] > self.prob_thresh
        if not mask.any() or self._input_shape is None:
            return False
        possible = object_roi(mask, [], self.expansion_ratio, self.min_crop_size)
        image_roi = (0, self._input_shape[2] - 1, 0, self._input_shape[3] - 1)
        return bbox_iou(possible, image_roi) < 0.5
