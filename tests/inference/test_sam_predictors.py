"""The SAM-class network behind the session interface: NoBRS, f-BRS-A/B, the embedding cache, undo, the previous
mask, and the `best` combination (SAM drives, our click CNN finishes)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from inference.clicks import Click, click_square_maps
from inference.networks.sam.weights import weights_installed
from inference.predictors.base import PredictorConfig
from inference.predictors.brs import BRSMaskLoss
from inference.session import SegmentationSession

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not weights_installed(), reason="SAM-class weights not installed (make venv)")]

PLAIN = PredictorConfig(refine=None)


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """uint8 (96, 128, 3): a red disk and a touching blue square on a grey ramp; the disk's bool mask."""
    yy, xx = np.mgrid[:96, :128]
    image = np.stack([60 + xx // 4, 70 + yy // 4, np.full_like(xx, 90)], axis=-1).astype(np.uint8)
    disk = (yy - 48) ** 2 + (xx - 44) ** 2 <= 22 ** 2
    image[disk] = (210, 40, 40)
    image[30:70, 66:100] = (40, 60, 200)
    return image, disk


@pytest.fixture(scope="module")
def sam():
    from inference.model_zoo import load_model
    torch.set_num_threads(2)
    return load_model("sam")


@pytest.fixture(scope="module")
def scene():
    return _scene()


def _loss(probs: np.ndarray, clicks) -> float:
    pos, neg = click_square_maps([clicks], probs.shape)
    return BRSMaskLoss()(torch.from_numpy(probs)[None, None], pos, neg)[0].item()


def test_nobrs_is_the_decoder_on_the_cached_embedding_with_the_previous_logits(sam, scene, monkeypatch):
    image, disk = scene
    calls = []
    real_embed = type(sam.net).embed
    monkeypatch.setattr(type(sam.net), "embed", lambda self, img, **kw: calls.append(1) or real_embed(self, img, **kw))
    sam.net._embeddings.clear()
    first = SegmentationSession(sam, image, mode="nobrs", config=PLAIN)
    second = SegmentationSession(sam, image.copy(), mode="nobrs", config=PLAIN)   # same photo, another object
    assert len(calls) == 1                                                      # encoded once
    clicks = [Click(44, 48, True), Click(80, 50, False)]
    embedded = sam.net.embedding_for(image)
    expected, low_res = [], None
    with torch.no_grad():
        for k in range(len(clicks)):
            pred = sam.net.predict(embedded, [[c.x, c.y] for c in clicks[:k + 1]],
                                   [int(c.positive) for c in clicks[:k + 1]], mask_input=low_res)
            low_res = pred.low_res
            expected.append(torch.sigmoid(pred.masks)[0, 0].numpy())
    for k, click in enumerate(clicks):
        np.testing.assert_allclose(first.add_click(click), expected[k], atol=1e-6)
    assert second.add_click(clicks[0]).shape == disk.shape
    iou = ((first.probs > 0.49) & disk).sum() / ((first.probs > 0.49) | disk).sum()
    assert iou > 0.8


@pytest.mark.parametrize("mode", ["f-brs-b", "f-brs-a"])
def test_feature_brs_lowers_the_click_loss_and_undo_is_exact(mode, sam, scene):
    image, _ = scene
    # contradicting clicks: a negative click inside the disk, a positive one on the square
    clicks = [Click(44, 48, True), Click(50, 52, False), Click(82, 50, True)]
    config = dataclasses.replace(PLAIN, brs_warm_start=False)
    plain = SegmentationSession(sam, image, mode="nobrs", config=config)
    brs = SegmentationSession(sam, image, mode=mode, config=config)
    outputs = []
    for click in clicks:
        p_plain = plain.add_click(click)
        outputs.append(brs.add_click(click))
    assert brs.last_stats["n_objective_evals"] > 0
    assert _loss(outputs[-1], clicks) < _loss(p_plain, clicks)
    np.testing.assert_array_equal(brs.undo(), outputs[1])
    np.testing.assert_array_equal(brs.add_click(clicks[2]), outputs[2])


def test_other_modes_are_refused_and_a_previous_mask_starts_the_object(sam, scene):
    image, disk = scene
    with pytest.raises(ValueError, match="not available for the SAM-class network"):
        SegmentationSession(sam, image, mode="rgb-brs", config=PLAIN)
    session = SegmentationSession(sam, image, mode="nobrs", config=PLAIN)
    shown = session.set_prev_mask(disk.astype(np.float32))
    np.testing.assert_array_equal(shown, disk.astype(np.float32))
    corrected = session.add_click(Click(44, 48, True))
    iou = ((corrected > 0.49) & disk).sum() / ((corrected > 0.49) | disk).sum()
    assert iou > 0.8


def test_best_returns_the_finished_map_from_its_click_on_and_sams_before():
    """The combination's map is SAM's before `refine_from_click` and our network's (given SAM's map as its
    previous mask) from then on; SAM's own trajectory does not depend on the finish."""
    from inference.model_zoo import load_model
    from inference.predictors.combined import SamRefinedNetwork

    image, _ = _scene()
    best = load_model("best")
    clicks = [Click(44, 48, True), Click(80, 50, False), Click(30, 40, True)]
    sam_only = SegmentationSession(best.net.sam, image, mode="nobrs", config=PLAIN)
    sam_maps = [sam_only.add_click(c) for c in clicks]
    late = SegmentationSession(SamRefinedNetwork(best.net.sam, best.net.refiner, refine_from_click=2), image,
                               mode="nobrs", config=PLAIN, device="cpu")
    early = SegmentationSession(SamRefinedNetwork(best.net.sam, best.net.refiner, refine_from_click=1), image,
                                mode="nobrs", config=PLAIN, device="cpu")
    late_maps = [late.add_click(c) for c in clicks]
    early_maps = [early.add_click(c) for c in clicks]
    np.testing.assert_array_equal(late_maps[0], sam_maps[0])
    assert not np.array_equal(early_maps[0], sam_maps[0])
    assert not np.array_equal(late_maps[1], sam_maps[1])
    np.testing.assert_array_equal(late_maps[1:], early_maps[1:])      # same finish from click 2 on
    np.testing.assert_array_equal(late.predictor.sam.prev_low_res, sam_only.predictor.prev_low_res)
    assert best.name == "best" and best.net.refine_from_click == 2 and late.roi is not None
