"""The training sample: an image with its object and ignore masks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Sample:
    """image: uint8 (H, W, 3) RGB; gt: bool (H, W) object; ignore: bool (H, W) left out of loss/clicks;
    composite: True when objects of other images were pasted in (`inference.training.composite`)."""

    image: np.ndarray
    gt: np.ndarray
    ignore: np.ndarray
    composite: bool = False
