"""GrabCut mode: weights-free segmentation from clicks behind the session API."""
from __future__ import annotations

import numpy as np

from inference.clicks import Click
from inference.session import SegmentationSession


def _scene() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 60, size=(120, 160, 3), dtype=np.uint8)
    gt = np.zeros((120, 160), bool)
    yy, xx = np.mgrid[:120, :160]
    gt[((yy - 60) / 30) ** 2 + ((xx - 80) / 45) ** 2 <= 1] = True
    image[gt] = (230, 120, 30) + rng.integers(0, 20, size=(gt.sum(), 3))
    return image, gt


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_grabcut_segments_object_from_one_click_and_negatives_cut():
    image, gt = _scene()
    session = SegmentationSession(None, image, mode="grabcut")
    probs = session.add_click(Click(80, 60, True))
    assert probs.dtype == np.float32 and set(np.unique(probs)) <= {0.0, 1.0}
    assert _iou(probs > 0.49, gt) > 0.8
    # a negative click inside the object removes its neighbourhood
    probs2 = session.add_click(Click(40, 60, False))
    assert probs2[60, 40] == 0
    assert np.array_equal(session.undo(), probs)
    assert session.last_stats["mode"] == "grabcut"


def test_grabcut_without_positive_click_is_empty():
    image, _ = _scene()
    session = SegmentationSession(None, image, mode="grabcut")
    assert not session.add_click(Click(5, 5, False)).any()
