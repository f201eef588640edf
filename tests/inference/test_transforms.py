"""Test-time transforms and their inverses."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.clicks import Click
from inference.transforms import AddHorizontalFlip, LimitLongestSide, SigmoidForPred, ZoomIn
from inference.transforms.roi import bbox_iou, expand_bbox


def test_flip_mirrors_clicks_and_averages_logits():
    flip = AddHorizontalFlip()
    image = torch.arange(2 * 3 * 4, dtype=torch.float32).view(1, 2, 3, 4)
    batch, lists = flip.transform(image, [[Click(1, 2, True)]])
    assert batch.shape == (2, 2, 3, 4) and torch.equal(batch[1], torch.flip(image[0], dims=[2]))
    assert lists[1][0] == Click(2, 2, True)
    logits = torch.randn(1, 1, 3, 4)
    other = torch.randn(1, 1, 3, 4)
    out = flip.inv_transform(torch.cat([logits, torch.flip(other, dims=[3])]))
    assert torch.allclose(out, 0.5 * (logits + other))


def test_sigmoid_inverse():
    assert torch.allclose(SigmoidForPred().inv_transform(torch.zeros(1, 1, 2, 2)), torch.full((1, 1, 2, 2), 0.5))


def test_expand_bbox_rounds_half_to_even():
    # centre 4.5, height 14 → 4.5 − 7 = −2.5 → −2 ; 4.5 + 7 = 11.5 → 12
    assert expand_bbox((0, 9, 0, 9), 1.4) == (-2, 12, -2, 12)
    assert expand_bbox((0, 9, 0, 9), 1.4, min_size=20) == (-6, 14, -6, 14)   # −5.5 → −6, 14.5 → 14


def test_bbox_iou_is_product_of_segment_ious():
    assert bbox_iou((0, 9, 0, 9), (0, 9, 0, 9)) == 1.0
    assert bbox_iou((0, 9, 0, 9), (0, 4, 0, 9)) == pytest.approx(0.5)


def _prev(zoom: ZoomIn, mask: np.ndarray) -> None:
    zoom._prev_probs = mask.astype(np.float32)[None, None]


def test_zoom_skips_first_click_then_crops_around_object():
    zoom = ZoomIn(target_size=100, skip_clicks=1, min_crop_size=10)
    image = torch.rand(1, 3, 80, 120)
    out, lists = zoom.transform(image, [[Click(60, 40, True)]])
    assert out is image and zoom.roi is None and not zoom.image_changed
    mask = np.zeros((80, 120), bool)
    mask[30:50, 50:70] = True
    _prev(zoom, mask)
    clicks = [Click(60, 40, True), Click(10, 10, False)]
    out, lists = zoom.transform(image, [clicks])
    # bbox rows 30..49, cols 50..69 → centre 39.5/59.5, size 28 → 25.5→26, 53.5→54, 45.5→46, 73.5→74
    assert zoom.roi == (26, 54, 46, 74) and zoom.image_changed
    assert out.shape == (1, 3, 100, 100)
    assert lists[0][0].x == pytest.approx(100 * (60 - 46) / 29) and lists[0][0].y == pytest.approx(100 * (40 - 26) / 29)
    probs = zoom.inv_transform(torch.ones(1, 1, 100, 100))
    assert probs.shape == (1, 1, 80, 120)
    assert probs[0, 0, 26:55, 46:75].min() > 0.9999 and float(probs.sum()) == pytest.approx(29 * 29, rel=1e-5)
    assert probs[0, 0, :26].sum() == 0 and probs[0, 0, :, 75:].sum() == 0


def test_zoom_keeps_roi_while_clicks_inside_and_boxes_overlap():
    zoom = ZoomIn(target_size=64, skip_clicks=1, min_crop_size=10)
    image = torch.rand(1, 3, 80, 120)
    mask = np.zeros((80, 120), bool)
    mask[30:50, 50:70] = True
    _prev(zoom, mask)
    zoom.transform(image, [[Click(60, 40, True), Click(60, 41, True)]])
    roi = zoom.roi
    mask2 = mask.copy()
    mask2[30:52, 50:70] = True
    _prev(zoom, mask2)
    zoom.transform(image, [[Click(60, 40, True), Click(60, 41, True), Click(55, 35, True)]])
    assert zoom.roi == roi and not zoom.image_changed
    # a positive click outside the ROI forces a new one
    zoom.transform(image, [[Click(60, 40, True), Click(5, 5, True)]])
    assert zoom.roi != roi and zoom.image_changed


def test_zoom_stale_roi_quirk_and_corrected_behaviour():
    image = torch.rand(1, 3, 80, 120)
    mask = np.zeros((80, 120), bool)
    mask[30:50, 50:70] = True
    for quirk in (True, False):
        zoom = ZoomIn(target_size=64, skip_clicks=1, min_crop_size=10, stale_roi_quirk=quirk)
        _prev(zoom, mask)
        zoom.transform(image, [[Click(60, 40, True), Click(1, 1, False)]])
        roi = zoom.roi
        _prev(zoom, np.zeros((80, 120), bool))   # the object vanished
        out, _ = zoom.transform(image, [[Click(60, 40, True), Click(1, 1, False), Click(2, 2, False)]])
        assert out.shape == image.shape            # full image goes to the network in both settings
        probs = zoom.inv_transform(torch.ones(1, 1, 80, 120))
        if quirk:   # reference: the full-image output is squeezed into the stale ROI
            assert zoom.roi == roi and float(probs.sum()) == pytest.approx((roi[1] - roi[0] + 1) * (roi[3] - roi[2] + 1), rel=1e-5)
        else:
            assert zoom.roi is None and zoom.image_changed and float(probs.sum()) == 80 * 120


def test_zoom_fixed_target_and_whole_image_roi_with_skip_minus_one():
    zoom = ZoomIn(target_size=(32, 48), skip_clicks=-1)
    image = torch.rand(1, 3, 80, 120)
    out, lists = zoom.transform(image, [[Click(60, 40, True)]])
    assert zoom.roi == (0, 79, 0, 119) and out.shape == (1, 3, 32, 48)
    assert lists[0][0].x == pytest.approx(48 * 60 / 120)


def test_limit_longest_side_resizes_and_restores():
    limit = LimitLongestSide(max_size=50)
    image = torch.rand(1, 3, 40, 100)
    out, lists = limit.transform(image, [[Click(99, 39, True)]])
    assert out.shape == (1, 3, 20, 50) and limit.image_changed
    assert lists[0][0].x == pytest.approx(50 * 99 / 100)
    back = limit.inv_transform(torch.rand(1, 1, 20, 50))
    assert back.shape == (1, 1, 40, 100)
    limit.transform(image, [[Click(99, 39, True)]])
    assert not limit.image_changed            # same resized input: caches stay valid
    always = LimitLongestSide(max_size=50, always_changed=True)
    always.transform(image, [[Click(1, 1, True)]])
    always.transform(image, [[Click(1, 1, True)]])
    assert always.image_changed               # reference behaviour (spec §8.5)
    small = torch.rand(1, 3, 20, 30)
    assert limit.transform(small, [[Click(1, 1, True)]])[0] is small
