"""NoC-protocol metrics: IoU with ignore, NoC@t, NoF@t (reference counting), mIoU@k."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from inference.evaluation.metrics import (clicks_to_target, iou, miou_at, miou_curve, noc, nof_summary,
                                          noc_summary)


def test_iou_leaves_ignored_pixels_out():
    gt = np.zeros((4, 4), bool)
    gt[:2] = True                       # 8 object pixels
    pred = np.zeros_like(gt)
    pred[:3] = True                     # 12 predicted
    assert iou(gt, pred) == pytest.approx(8 / 12)
    ignore = np.zeros_like(gt)
    ignore[2] = True                    # the false-positive row is ignored
    assert iou(gt, pred, ignore) == pytest.approx(1.0)


def test_iou_bad_input():
    with pytest.raises(ValueError, match="empty union"):
        iou(np.zeros((3, 3), bool), np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="shape"):
        iou(np.zeros((3, 3), bool), np.zeros((3, 4), bool))


def test_noc_first_click_reaching_threshold_or_max():
    ious = [0.5, 0.84, 0.86, 0.91, 0.95]
    assert noc(ious, 0.85, 20) == 3
    assert noc(ious, 0.90, 20) == 4
    assert noc(ious, 0.99, 20) == 20
    assert noc(ious, 0.80, 2) == 2     # only the first max_clicks values count


def test_noc_compares_in_float32_like_the_reference():
    just_below = np.nextafter(0.85, 0.0)  # float64 < 0.85 but rounds to float32(0.85)
    assert noc([just_below], 0.85, 20) == 1


def test_nof_counts_reaching_at_the_last_click_as_failure():
    samples = [[0.9] * 3, [0.1, 0.2, 0.95], [0.1, 0.1, 0.1]]
    assert noc_summary(samples, max_clicks=3) == {"80": pytest.approx(7 / 3), "85": pytest.approx(7 / 3),
                                                  "90": pytest.approx(7 / 3)}
    assert nof_summary(samples, max_clicks=3) == {"85": 2, "90": 2}


def test_miou_needs_every_sample_to_have_k_clicks():
    samples = [[0.5, 0.7, 0.9], [0.3, 0.5]]
    assert miou_at(samples, 1) == pytest.approx(0.4)
    assert miou_at(samples, 2) == pytest.approx(0.6)
    assert miou_at(samples, 3) is None
    assert miou_curve(samples, 3) == [pytest.approx(0.4), pytest.approx(0.6), None]
    with pytest.raises(ValueError):
        miou_at(samples, 0)


def test_clicks_to_target_uses_unrounded_values():
    assert clicks_to_target([0.5, 0.9, 0.95]) == 2
    assert clicks_to_target([0.5, 0.6]) == 2
    assert clicks_to_target([0.1] * 25, max_clicks=20) == 20


@pytest.mark.parity
def test_noc_matches_reference_autoeval(shared_fixtures):
    """compute_noc_metric's values recorded in autoeval.json from the same IoU sequences."""
    auto = json.loads((shared_fixtures / "ritm_hrnet18s_itermask" / "autoeval.json").read_text())
    for run in auto.values():
        ours = noc_summary([run["ious"]], max_clicks=20)
        assert [ours["80"], ours["85"], ours["90"]] == run["NoC@80,85,90"]
        fails = nof_summary([run["ious"]], 20, thresholds=(0.80, 0.85, 0.90))
        assert [fails["80"], fails["85"], fails["90"]] == run[">=20 (failures) @80,85,90"]


@pytest.mark.parity
def test_iou_matches_reference_on_fixture_prediction(shared_fixtures):
    fx = shared_fixtures / "ritm_hrnet18s_itermask"
    mask = cv2.imread(str(fx / "gt_mask_target.png"), cv2.IMREAD_GRAYSCALE)
    probs = np.load(fx / "probs__NoBRS__zoomeval.npz")["probs_u16"][0] / 65535.0
    auto = json.loads((fx / "autoeval.json").read_text())
    assert iou(mask > 128, probs > 0.49, mask == 128) == pytest.approx(auto["NoBRS__target"]["ious"][0],
                                                                       abs=1e-6)
