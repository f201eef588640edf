"""LimitLongestSide: resize the whole image so that its longest side is at most `max_size` (spec §2.4)."""
from __future__ import annotations

from typing import Sequence

import torch

from inference.clicks import Click
from inference.transforms.base import ClickLists
from inference.transforms.zoom_in import ZoomIn, crop_and_resize


class LimitLongestSide(ZoomIn):
    """Whole-image "ROI" resized to longest side `max_size` when larger; inverse resizes back.

    The reference raises `image_changed` on EVERY resized call (spec §8.5), which makes f-BRS recompute its
    cached features and input-BRS restart from zero at every click. By default we raise it only when the
    resized image really changes (first call or new input size); `always_changed=True` restores the
    reference behaviour.
    """

    def __init__(self, max_size: int = 800, always_changed: bool = False) -> None:
        super().__init__(target_size=max_size, skip_clicks=0)
        self.always_changed = always_changed

    def transform(self, image: torch.Tensor, click_lists: Sequence[Sequence[Click]]
                  ) -> tuple[torch.Tensor, ClickLists]:
        """(1, C, H, W) → resized copy when max(H, W) > max_size, clicks scaled; identity otherwise."""
        if image.shape[0] != 1 or len(click_lists) != 1:
            raise ValueError("LimitLongestSide works on a single image (apply it before AddHorizontalFlip)")
        self.image_changed = False
        if max(image.shape[2:4]) <= self.target_size:
            return image, [list(click_lists[0])]
        roi = (0, image.shape[2] - 1, 0, image.shape[3] - 1)
        self.image_changed = self.always_changed or self._object_roi != roi
        self._object_roi = roi
        self._input_shape = tuple(image.shape)
        resized = crop_and_resize(image, roi, self.target_size)
        self._roi_shape = (resized.shape[2], resized.shape[3])
        return resized, [self._transform_clicks(click_lists[0])]

    def check_possible_recalculation(self) -> bool:
        """Never: only ZoomIn proper triggers a recalculation."""
        return False
