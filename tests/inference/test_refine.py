"""Guided-filter refinement (`inference.postprocess.guided_filter`) and its use by the predictor, the session and the evaluation."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from inference.clicks import Click
from inference.predictors.base import PredictorConfig
from inference.postprocess.guided_filter import GuidedFilterParams, GuidedRefiner
from inference.session import SegmentationSession


def naive_guided_filter(image: np.ndarray, probs: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s colour guided filter window by window (float64, mirrored borders, no clipping)."""
    guide = image.astype(np.float64) / 255.0
    height, width = probs.shape
    pad = ((radius, radius), (radius, radius))
    guide_p = np.pad(guide, pad + ((0, 0),), mode="symmetric")
    probs_p = np.pad(probs.astype(np.float64), pad, mode="symmetric")
    size = 2 * radius + 1
    coef = np.zeros((height, width, 3))
    offset = np.zeros((height, width))
    for y in range(height):
        for x in range(width):
            window = guide_p[y:y + size, x:x + size].reshape(-1, 3)
            values = probs_p[y:y + size, x:x + size].ravel()
            mean = window.mean(0)
            cov = np.cov(window.T, bias=True) + eps * np.eye(3)
            cross = (window * values[:, None]).mean(0) - mean * values.mean()
            coef[y, x] = np.linalg.solve(cov, cross)
            offset[y, x] = values.mean() - coef[y, x] @ mean
    coef_p = np.pad(coef, pad + ((0, 0),), mode="symmetric")
    offset_p = np.pad(offset, pad, mode="symmetric")
    out = np.zeros((height, width))
    for y in range(height):
        for x in range(width):
            out[y, x] = (coef_p[y:y + size, x:x + size].reshape(-1, 3).mean(0) @ guide[y, x]
                         + offset_p[y:y + size, x:x + size].mean())
    return out


@pytest.mark.parametrize("radius, eps", [(1, 1e-4), (3, 1e-2)])
def test_matches_the_window_by_window_definition(radius, eps):
    rng = np.random.default_rng(radius)
    image = rng.integers(0, 256, size=(23, 31, 3), dtype=np.uint8)
    probs = rng.random((23, 31)).astype(np.float32)
    refined = GuidedRefiner(image, GuidedFilterParams(radius, eps)).refine(probs)
    expected = np.clip(naive_guided_filter(image, probs, radius, eps), 0, 1)
    assert refined.dtype == np.float32 and refined.shape == probs.shape
    np.testing.assert_allclose(refined, expected, atol=2e-5)


def test_a_blurred_edge_snaps_to_the_image_edge():
    """The map's edge, smoothed as a bilinear upsampling from 1/4 would leave it, is sharpened where the colour
    changes: the thresholded map matches the true object better and the map steps at the colour edge."""
    rng = np.random.default_rng(0)
    height, width = 40, 60
    truth = np.zeros((height, width), bool)
    truth[:, 27:] = True
    image = np.where(truth[..., None], (200, 60, 40), (30, 90, 160)).astype(np.float64)
    image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    columns = np.arange(width)
    ramp = np.clip((columns - 22.0) / 12.0, 0, 1)   # blurred and shifted: 0.5 at x = 28, edge at 27
    probs = np.broadcast_to(ramp, (height, width)).astype(np.float32)
    refined = GuidedRefiner(image, GuidedFilterParams(4, 1e-3)).refine(probs)
    errors_before = np.count_nonzero((probs > 0.49) != truth)
    errors_after = np.count_nonzero((refined > 0.49) != truth)
    assert errors_before >= height and errors_after < errors_before // 4
    # The map now jumps where the colour does (the unrefined ramp rises 1/12 per pixel there).
    jump = refined[:, 27] - refined[:, 26]
    assert float(jump.mean()) > 0.25 and float(jump.min()) > 0.15


def test_flat_maps_stay_flat_and_values_stay_in_range():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(20, 20, 3), dtype=np.uint8)
    refiner = GuidedRefiner(image, GuidedFilterParams(2, 1e-3))
    for value in (0.0, 0.3, 1.0):
        np.testing.assert_allclose(refiner.refine(np.full((20, 20), value, np.float32)), value, atol=1e-4)
    refined = refiner.refine((rng.random((20, 20)) > 0.5).astype(np.float32))
    assert refined.min() >= 0 and refined.max() <= 1


def test_bad_settings_and_inputs_are_rejected():
    with pytest.raises(ValueError, match="radius"):
        GuidedFilterParams(radius=0)
    with pytest.raises(ValueError, match="radius"):
        GuidedFilterParams(radius=2.5)
    with pytest.raises(ValueError, match="eps"):
        GuidedFilterParams(eps=0)
    with pytest.raises(ValueError, match="max_side"):
        GuidedFilterParams(max_side=0)
    with pytest.raises(ValueError, match="eps"):
        GuidedFilterParams(eps=float("nan"))
    with pytest.raises(ValueError, match="uint8"):
        GuidedRefiner(np.zeros((8, 8, 3), np.float32), GuidedFilterParams())
    with pytest.raises(ValueError, match="uint8"):
        GuidedRefiner(np.zeros((8, 8), np.uint8), GuidedFilterParams())
    refiner = GuidedRefiner(np.zeros((8, 8, 3), np.uint8), GuidedFilterParams())
    with pytest.raises(ValueError, match="shape"):
        refiner.refine(np.zeros((8, 9), np.float32))


def test_session_returns_the_refined_map_and_feeds_the_network_the_raw_one(ritm_net, toy_image):
    params = GuidedFilterParams(2, 1e-3)
    plain = SegmentationSession(ritm_net, toy_image, mode="nobrs", config=PredictorConfig(zoom_in=None))
    refined = SegmentationSession(ritm_net, toy_image, mode="nobrs",
                                  config=PredictorConfig(zoom_in=None, refine=params))
    refiner = GuidedRefiner(toy_image, params)
    for click in (Click(30, 22, True), Click(5, 5, False), Click(40, 30, True)):
        raw = plain.add_click(click)
        out = refined.add_click(click)
        np.testing.assert_allclose(out, refiner.refine(raw), atol=1e-6)
        assert not np.allclose(out, raw, atol=1e-3)
        # The next click's previous-mask input is the unrefined map, as in the plain session.
        assert torch.equal(refined.predictor.prev_prediction, plain.predictor.prev_prediction)
    np.testing.assert_allclose(refined.undo(), refiner.refine(plain.undo()), atol=1e-6)


def test_large_images_are_fitted_on_a_subsampled_copy():
    """Above max_side the fast guided filter is used: close to the exact filter, at a fraction of the memory."""
    rng = np.random.default_rng(3)
    truth = np.zeros((90, 120), bool)
    truth[20:70, 30:95] = True
    image = np.where(truth[..., None], (210, 80, 50), (40, 100, 170)).astype(np.float64)
    image = np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8)
    probs = cv2.blur(truth.astype(np.float32), (9, 9))   # edges smooth where the image's are sharp
    exact = GuidedRefiner(image, GuidedFilterParams(4, 1e-3, max_side=120))
    fast = GuidedRefiner(image, GuidedFilterParams(4, 1e-3, max_side=60))
    assert exact.subsample == 1 and fast.subsample == 2 and fast.radius == 2
    assert fast.nbytes == exact.nbytes // 4 + 3 * probs.size   # statistics at half size + uint8 planes
    refined_exact, refined_fast = exact.refine(probs), fast.refine(probs)
    assert refined_fast.shape == probs.shape
    assert np.count_nonzero((refined_fast > 0.49) != (refined_exact > 0.49)) < 0.01 * probs.size
    assert np.count_nonzero((refined_fast > 0.49) != truth) < np.count_nonzero((probs > 0.49) != truth)

