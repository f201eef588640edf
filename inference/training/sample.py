"""The training sample: an image with its object and ignore masks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass
class Sample:
    """image: uint8 (H, W, 3) RGB; gt: bool (H, W) object; ignore: bool (H, W) left out of loss/clicks;
    target_kind: None for a plain crop; for a composite (objects of other images pasted in,
    `inference.training.composite`) "base" when the target is the occluded original, "pasted" when it is a
    pasted object."""

    image: np.ndarray
    gt: np.ndarray
    ignore: np.ndarray
    target_kind: Literal["base", "pasted"] | None = None

    @property
    def composite(self) -> bool:
        """True when objects of other images were pasted in."""
        return self.target_kind is not None
