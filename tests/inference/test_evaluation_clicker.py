"""The automatic clicker: rule of spec §4 / §8.7, checked against a brute-force distance transform and
against the reference clicks recorded in the fixture's autoeval.json."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from inference.clicks import Click
from inference.evaluation.clicker import AutoClicker, error_distance_maps, next_click


def brute_force_click(gt, pred, ignore, clicked):
    """Independent (slow) implementation: distance of each error pixel to the nearest non-error pixel of
    the 1-pixel-padded grid, by exhaustive search in float64."""
    h, w = gt.shape
    valid = ~ignore
    maps = []
    for err in (gt & ~pred & valid, ~gt & pred & valid):
        padded = np.zeros((h + 2, w + 2), bool)
        padded[1:-1, 1:-1] = err
        zeros = np.argwhere(~padded)
        dist = np.zeros((h, w), np.float32)
        for y, x in np.argwhere(err):
            d2 = ((zeros - (y + 1, x + 1)) ** 2).sum(axis=1).min()
            dist[y, x] = np.float32(np.sqrt(d2))
        dist[clicked] = 0
        maps.append(dist)
    fn, fp = maps
    positive = fn.max() > fp.max()
    best = fn if positive else fp
    ys, xs = np.nonzero(best == best.max())  # row-major order
    return Click(x=float(xs[0]), y=float(ys[0]), positive=bool(positive))


def test_square_object_centre_first_in_row_major_order():
    gt = np.zeros((30, 40), bool)
    gt[10:20, 20:30] = True  # 10x10: maxima (distance 5) at rows 14-15, cols 24-25
    click = next_click(gt, np.zeros_like(gt))
    assert click == Click(x=24.0, y=14.0, positive=True)


def test_clicked_pixel_is_excluded():
    gt = np.zeros((30, 40), bool)
    gt[10:20, 20:30] = True
    clicked = np.zeros_like(gt)
    clicked[14, 24] = True
    assert next_click(gt, np.zeros_like(gt), None, clicked) == Click(x=25.0, y=14.0, positive=True)


def test_tie_between_fn_and_fp_gives_negative_click():
    gt = np.zeros((20, 40), bool)
    pred = np.zeros_like(gt)
    gt[5:10, 5:10] = True          # false negative 5x5 (not predicted)
    pred[5:10, 25:30] = True       # false positive 5x5 of the same shape
    click = next_click(gt, pred)
    assert click.positive is False
    assert (click.x, click.y) == (27.0, 7.0)


def test_image_border_counts_as_outside_the_error():
    gt = np.ones((5, 5), bool)  # without padding there is no zero pixel at all
    click = next_click(gt, np.zeros_like(gt))
    assert click == Click(x=2.0, y=2.0, positive=True)
    fn_dt, _ = error_distance_maps(gt, np.zeros_like(gt))
    assert fn_dt[2, 2] == pytest.approx(3.0) and fn_dt[0, 0] == pytest.approx(1.0)


def test_ignored_pixels_are_neither_errors_nor_targets():
    gt = np.zeros((20, 30), bool)
    gt[2:18, 2:14] = True          # big object, mostly ignored
    ignore = np.zeros_like(gt)
    ignore[2:18, 2:14] = True
    gt[8:11, 20:23] = True         # small visible object
    click = next_click(gt, np.zeros_like(gt), ignore)
    assert click == Click(x=21.0, y=9.0, positive=True)


def test_perfect_prediction_places_negative_click_on_first_unclicked_pixel():
    gt = np.zeros((4, 5), bool)
    gt[1:3, 1:3] = True
    clicked = np.zeros_like(gt)
    clicked[0, 0] = clicked[0, 1] = True
    assert next_click(gt, gt.copy(), None, clicked) == Click(x=2.0, y=0.0, positive=False)


def test_all_pixels_clicked_is_an_error():
    gt = np.zeros((2, 2), bool)
    with pytest.raises(ValueError, match="already been clicked"):
        next_click(gt, gt, None, np.ones_like(gt))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        next_click(np.zeros((4, 4), bool), np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match="2-D"):
        next_click(np.zeros((4, 4, 1), bool), np.zeros((4, 4, 1), bool))


@pytest.mark.parametrize("seed", range(12))
def test_matches_brute_force_on_random_masks(seed):
    rng = np.random.default_rng(seed)
    h, w = 14, 17
    gt = cv2.GaussianBlur(rng.random((h, w)), (5, 5), 0) > 0.5
    pred = cv2.GaussianBlur(rng.random((h, w)), (5, 5), 0) > 0.5
    ignore = rng.random((h, w)) < 0.1
    clicked = rng.random((h, w)) < 0.05
    assert next_click(gt, pred, ignore, clicked) == brute_force_click(gt, pred, ignore, clicked)


def test_auto_clicker_never_repeats_a_pixel():
    gt = np.zeros((12, 12), bool)
    gt[3:9, 3:9] = True
    clicker = AutoClicker(gt)
    pred = np.zeros_like(gt)
    seen = {(c.x, c.y) for c in (clicker.next(pred) for _ in range(30))}
    assert len(seen) == 30 and clicker.clicked.sum() == 30


def _read_mask(path):
    m = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return m > 128, m == 128


@pytest.mark.parity
def test_reference_clicks_from_autoeval(shared_fixtures):
    """First click on both GT masks (empty prediction) and the second click after the reference NoBRS
    prediction for click 1 (ZoomIn skips the first click, so the zoomeval run's map 1 is that one)."""
    fx = shared_fixtures / "ritm_hrnet18s_itermask"
    auto = json.loads((fx / "autoeval.json").read_text())
    for key, mask_file in (("NoBRS__target", "gt_mask_target.png"),
                           ("NoBRS__train_object", "gt_mask_train_object.png")):
        gt, ignore = _read_mask(fx / mask_file)
        positive, y, x = auto[key]["clicks"][0]
        assert next_click(gt, np.zeros_like(gt), ignore) == Click(x=float(x), y=float(y), positive=positive)

    gt, ignore = _read_mask(fx / "gt_mask_target.png")
    probs = np.load(fx / "probs__NoBRS__zoomeval.npz")["probs_u16"][0] / 65535.0
    clicker = AutoClicker(gt, ignore)
    clicker.next(np.zeros_like(gt))
    second = clicker.next(probs > 0.49)
    for key in ("NoBRS__target", "f-BRS-B__target", "RGB-BRS__target"):
        positive, y, x = auto[key]["clicks"][1]
        assert second == Click(x=float(x), y=float(y), positive=positive)
