"""Engine test fixtures: a small synthetic image and toy networks."""
from __future__ import annotations

import numpy as np
import pytest

from tests.inference.toy_net import ToyClickNet


@pytest.fixture
def toy_image() -> np.ndarray:
    """uint8 (48, 64, 3): dark background with a bright 20×24 rectangle at x 20..43, y 14..33."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 40, size=(48, 64, 3), dtype=np.uint8)
    image[14:34, 20:44] = (220, 140, 40)
    return image


@pytest.fixture(params=["ritm", "fbrs"])
def toy_net(request) -> ToyClickNet:
    """Both network families."""
    return ToyClickNet(family=request.param)


@pytest.fixture
def ritm_net() -> ToyClickNet:
    """RITM family with a prev-mask channel (the parity fixture's kind)."""
    return ToyClickNet(family="ritm")
