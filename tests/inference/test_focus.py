"""Focus refinement: the box, the blend weights, the refiner and its place in the predictor."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from inference.clicks import Click, points_tensor
from inference.focus import FocusParams, FocusRefiner, blend_weights, focus_box
from inference.predictors.base import PredictorConfig
from inference.session import SegmentationSession

CLICKS = [Click(30, 22, True), Click(5, 5, False), Click(40, 30, True), Click(55, 40, False)]


def test_focus_box_follows_the_changed_region_that_holds_the_click():
    prev = np.zeros((100, 200), dtype=bool)
    new = prev.copy()
    new[40:50, 100:120] = True      # changed at the click (x 110, y 45): rows 40..49, cols 100..119
    new[0:5, 0:5] = True            # changed elsewhere: ignored
    params = FocusParams(expansion=2.0, min_size=4)
    # box (40, 49, 100, 119): centre (44.5, 109.5), 20 × 40 after ×2 → rows 34.5..54.5, cols 89.5..129.5
    assert focus_box(prev, new, Click(110, 45, True), params) == (34, 54, 90, 130)
    # a click where nothing changed: its own pixel, grown to the minimum size and clamped to the image
    assert focus_box(prev, new, Click(2.2, 90.4, False), FocusParams(min_size=20)) == (80, 99, 0, 12)


def test_blend_weights_ramp_only_at_inner_sides():
    weights = blend_weights((0, 19, 10, 29), (100, 200), ramp=0.25)   # top side on the image border
    assert weights.shape == (20, 20) and weights.dtype == np.float32
    assert weights[0, 10] == 1.0 and weights[10, 10] == 1.0           # top border and middle: full weight
    assert weights[19, 10] < 0.2 and weights[10, 0] < 0.2 and weights[10, 19] < 0.2
    assert np.all(np.diff(weights[10, :10]) >= 0)                      # rising towards the middle
    assert np.all(blend_weights((0, 99, 0, 199), (100, 200), ramp=0.25) == 1.0)


def test_focus_params_are_checked():
    for bad in ({"target_size": 8}, {"expansion": 0.5}, {"min_gain": 0}, {"ramp": 0.5}, {"mask_thresh": 1.0}):
        with pytest.raises(ValueError, match="bad focus settings"):
            FocusParams(**bad)


def test_refiner_changes_only_the_box_and_skips_when_not_finer(ritm_net, toy_image):
    image = torch.from_numpy(toy_image.transpose(2, 0, 1).copy()).float().div(255)[None]
    prev = np.zeros((48, 64), dtype=np.float32)
    probs = np.zeros((48, 64), dtype=np.float32)
    probs[14:34, 20:44] = 0.9
    clicks = [Click(30, 22, True)]
    points = lambda lists: points_tensor(lists, None, with_index=True)  # noqa: E731

    refiner = FocusRefiner(ritm_net, points, with_flip=True, params=FocusParams(min_size=8))
    fused, box = refiner.refine(image, prev, probs, clicks, main_scale=1.0)
    assert box is not None
    rmin, rmax, cmin, cmax = box
    outside = np.ones_like(probs, dtype=bool)
    outside[rmin:rmax + 1, cmin:cmax + 1] = False
    np.testing.assert_array_equal(fused[outside], probs[outside])
    assert np.abs(fused - probs).max() > 1e-3 and fused.dtype == np.float32

    # the main pass already sees the image 20× finer than a 320-px crop of the box would: no focus step
    unchanged, none = refiner.refine(image, prev, probs, clicks, main_scale=20.0)
    assert none is None and unchanged is probs


def test_predictor_focus_feeds_back_the_blended_map(ritm_net, toy_image):
    config = PredictorConfig(zoom_in=None, focus=FocusParams(min_size=8))
    session = SegmentationSession(ritm_net, toy_image, mode="f-brs-b", config=config)
    plain = SegmentationSession(ritm_net, toy_image, mode="f-brs-b",
                                config=dataclasses.replace(config, focus=None))
    probs = session.add_click(CLICKS[0])
    assert session.predictor.focus_box is None                           # never at the first click
    np.testing.assert_array_equal(probs, plain.add_click(CLICKS[0]))
    ran = 0
    for click in CLICKS[1:]:
        probs = session.add_click(click)
        if session.predictor.focus_box is not None:
            ran += 1
            np.testing.assert_array_equal(session.predictor.prev_prediction.numpy()[0, 0], probs)
    assert ran > 0


def test_focus_excludes_other_previous_mask_choices():
    from inference.refine import GuidedFilterParams

    with pytest.raises(ValueError, match="focus sets the previous-mask input"):
        PredictorConfig(focus=FocusParams(), brs_prev_mask="network")
    with pytest.raises(ValueError, match="focus sets the previous-mask input"):
        PredictorConfig(focus=FocusParams(), refine=GuidedFilterParams(), refine_feedback=True)
