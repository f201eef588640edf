"""Test-time transforms: the interface every transform implements.

A transform maps a batch of images `(B, C, H, W)` float32 and per-item click lists (`Click` (x, y) in that
image's pixels) to a new batch and click lists; `inv_transform` maps the network output back. The predictor
applies transforms in order and the inverses in reverse order (spec §2.2). State (ROI, previous
probabilities) is exposed through `get_state` / `set_state` so that a session can snapshot and restore it;
states are immutable values (tensors/arrays are replaced, never modified in place).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from inference.clicks import Click

ClickLists = list[list[Click]]


class Transform:
    """Base class: identity transform with no state."""

    #: True when the last `transform` produced a different network-input image than the call before it
    #: (ZoomIn ROI change, LimitLongestSide resize); BRS predictors reset/recompute their caches then.
    image_changed: bool = False

    def transform(self, image: torch.Tensor, click_lists: Sequence[Sequence[Click]]
                  ) -> tuple[torch.Tensor, ClickLists]:
        """(B, C, H, W) float32 image + click lists → transformed image + click lists."""
        return image, [list(c) for c in click_lists]

    def inv_transform(self, output: torch.Tensor) -> torch.Tensor:
        """Map an output `(B', 1, H', W')` back towards the previous transform's space."""
        return output

    def reset(self) -> None:
        """Forget per-object state (new image or new object)."""
        self.image_changed = False

    def get_state(self) -> Any:
        """An immutable snapshot of the transform's state."""
        return None

    def set_state(self, state: Any) -> None:
        """Restore a state returned by `get_state`."""
