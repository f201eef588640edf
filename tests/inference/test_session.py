"""SegmentationSession on a toy network: every mode, undo/redo exactness, snapshots, prev mask, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.clicks import Click, click_square_maps
from inference.predictors.brs import BRSMaskLoss
from inference.predictors import MODES
from inference.predictors.base import PredictorConfig, ZoomInParams
from inference.session import SegmentationSession

CLICKS = [Click(30, 22, True), Click(5, 5, False), Click(40, 30, True), Click(55, 40, False)]
NET_MODES = [m for m in MODES if m != "grabcut"]
NO_ZOOM = PredictorConfig(zoom_in=None)


def _click_loss(probs: np.ndarray, clicks) -> float:
    pos, neg = click_square_maps([clicks], probs.shape)
    return BRSMaskLoss()(torch.from_numpy(probs)[None, None], pos, neg)[0].item()


@pytest.mark.slow
@pytest.mark.parametrize("mode", NET_MODES)
def test_every_mode_returns_probabilities_and_stats(mode, toy_net, toy_image):
    session = SegmentationSession(toy_net, toy_image, mode=mode, config=NO_ZOOM)
    for click in CLICKS[:3]:
        probs = session.add_click(click)
        assert probs.shape == (48, 64) and probs.dtype == np.float32
        assert 0 <= probs.min() and probs.max() <= 1
    stats = session.last_stats
    assert stats["mode"] == mode and stats["device"] == "cpu" and stats["seconds"] > 0
    assert (stats["n_objective_evals"] == 0) == (mode == "nobrs")
    assert session.clicks == CLICKS[:3]


@pytest.mark.parametrize("mode", ["rgb-brs", "distmap-brs", "f-brs-b", "f-brs-c"])
def test_brs_lowers_the_click_loss_compared_to_nobrs(mode, ritm_net, toy_image):
    toy_net = ritm_net
    plain = SegmentationSession(toy_net, toy_image, mode="nobrs", config=NO_ZOOM)
    brs = SegmentationSession(toy_net, toy_image, mode=mode, config=NO_ZOOM)
    for click in CLICKS[:3]:
        p_plain, p_brs = plain.add_click(click), brs.add_click(click)
    assert _click_loss(p_brs, CLICKS[:3]) < _click_loss(p_plain, CLICKS[:3])


@pytest.mark.parametrize("mode", ["nobrs", "rgb-brs", "f-brs-a"])
def test_undo_redo_and_replay_are_exact(mode, ritm_net, toy_image):
    toy_net = ritm_net
    session = SegmentationSession(toy_net, toy_image, mode=mode,
                                  config=PredictorConfig(zoom_in=ZoomInParams(target_size=40, min_crop_size=16)))
    outputs = [session.add_click(c) for c in CLICKS]
    assert np.array_equal(session.undo(), outputs[2])
    assert session.clicks == CLICKS[:3]
    assert np.array_equal(session.undo(), outputs[1])
    assert np.array_equal(session.redo(), outputs[2])
    # replaying the last click from the restored state gives the identical map
    assert np.array_equal(session.add_click(CLICKS[3]), outputs[3])
    assert np.array_equal(session.redo(), outputs[3])     # redo history was dropped by the new click
    for _ in CLICKS:
        session.undo()
    assert session.clicks == [] and not session.undo().any()


def test_snapshot_restore_roundtrip(ritm_net, toy_image):
    toy_net = ritm_net
    session = SegmentationSession(toy_net, toy_image, mode="f-brs-b", config=PredictorConfig())
    for c in CLICKS[:2]:
        session.add_click(c)
    state = session.snapshot()
    third = session.add_click(CLICKS[2])
    session.add_click(CLICKS[3])
    session.restore(state)
    assert session.clicks == CLICKS[:2]
    assert np.array_equal(session.add_click(CLICKS[2]), third)


def test_reset_and_roi(ritm_net, toy_image):
    toy_net = ritm_net
    session = SegmentationSession(toy_net, toy_image, mode="nobrs",
                                  config=PredictorConfig(zoom_in=ZoomInParams(target_size=40, min_crop_size=16,
                                                                             skip_clicks=-1)))
    session.add_click(CLICKS[0])
    x0, y0, x1, y1 = session.roi
    assert 0 <= x0 <= x1 < 64 and 0 <= y0 <= y1 < 48
    assert not session.reset().any() and session.clicks == [] and session.roi is None


def test_prev_mask_feeds_the_ritm_input(toy_image):
    from tests.inference.toy_net import ToyClickNet
    net = ToyClickNet("ritm", with_prev_mask=True)
    a = SegmentationSession(net, toy_image, mode="nobrs", config=NO_ZOOM)
    b = SegmentationSession(net, toy_image, mode="nobrs", config=NO_ZOOM)
    mask = np.zeros((48, 64), np.float32)
    mask[10:30, 10:40] = 1
    assert np.array_equal(b.set_prev_mask(mask), mask)
    assert not np.array_equal(a.add_click(CLICKS[0]), b.add_click(CLICKS[0]))
    with pytest.raises(ValueError):
        b.set_prev_mask(np.zeros((3, 3), np.float32))


def test_bad_input_is_rejected(ritm_net, toy_image):
    toy_net = ritm_net
    with pytest.raises(ValueError, match="unknown mode"):
        SegmentationSession(toy_net, toy_image, mode="magic")
    with pytest.raises(ValueError, match="needs a model"):
        SegmentationSession(None, toy_image, mode="f-brs-b")
    with pytest.raises(ValueError, match="uint8"):
        SegmentationSession(toy_net, toy_image.astype(np.float32), mode="nobrs")
    session = SegmentationSession(toy_net, toy_image, mode="nobrs")
    with pytest.raises(ValueError, match="outside"):
        session.add_click(Click(64, 0, True))
    with pytest.raises(TypeError):
        session.add_click((1, 2, True))


def test_num_threads_is_scoped(ritm_net, toy_image):
    toy_net = ritm_net
    before = torch.get_num_threads()
    session = SegmentationSession(toy_net, toy_image, mode="nobrs", num_threads=1)
    session.add_click(CLICKS[0])
    assert torch.get_num_threads() == before


def test_net_clicks_limit_decides_which_clicks_the_network_sees(ritm_net, toy_image):
    """f-BRS gives the network its first 8 clicks by default; `net_clicks_limit=None` gives it all of them."""
    clicks = [Click(22 + 2 * i, 16 + i, True) for i in range(9)] + [Click(5, 5, False)]
    limited = SegmentationSession(ritm_net, toy_image, mode="f-brs-b", config=NO_ZOOM)
    unlimited = SegmentationSession(ritm_net, toy_image, mode="f-brs-b",
                                    config=PredictorConfig(zoom_in=None, net_clicks_limit=None))
    assert limited.predictor.net_clicks_limit == 8 and unlimited.predictor.net_clicks_limit is None
    points_limited = limited.predictor.points([clicks])
    points_all = unlimited.predictor.points([clicks])
    assert (points_limited[0, :, 0] >= 0).sum() == 8      # the negative tenth click is withheld
    assert (points_all[0, :, 0] >= 0).sum() == 10


@pytest.mark.parametrize("mode", ["f-brs-b", "rgb-brs"])
def test_brs_warm_start_decides_where_each_click_starts(mode, ritm_net, toy_image, monkeypatch):
    """The reference starts each click's L-BFGS-B from the previous click's solution; with
    `brs_warm_start=False` every click starts from the identity (zeros)."""
    import dataclasses

    from inference.predictors import brs_base

    starts: list[np.ndarray] = []
    real_run_lbfgs = brs_base.run_lbfgs

    def recording_run_lbfgs(objective, x0, params):
        starts.append(np.array(x0, copy=True))
        return real_run_lbfgs(objective, x0, params)

    monkeypatch.setattr(brs_base, "run_lbfgs", recording_run_lbfgs)
    for warm in (True, False):
        starts.clear()
        config = dataclasses.replace(PredictorConfig(zoom_in=None), brs_warm_start=warm)
        session = SegmentationSession(ritm_net, toy_image, mode=mode, config=config)
        solutions = []
        for click in CLICKS:
            session.add_click(click)
            solutions.append(np.array(session.predictor.opt_data, copy=True).ravel())
        assert len(starts) == len(CLICKS) - 1          # no optimisation at the first click
        assert any(np.abs(s).max() > 0 for s in solutions[1:-1])   # the optimisation moved the variables
        for start, previous in zip(starts, solutions[:-1]):
            expected = previous if warm else np.zeros_like(previous)
            np.testing.assert_array_equal(start.ravel().astype(np.float32), expected.astype(np.float32))


def _small_object_scene() -> tuple[np.ndarray, np.ndarray]:
    """uint8 (300, 400, 3) noisy grey scene with a 36 × 36 red square at x 200..235, y 120..155, and its mask."""
    rng = np.random.default_rng(0)
    image = rng.integers(90, 150, size=(300, 400, 3), dtype=np.uint8)
    mask = np.zeros((300, 400), dtype=bool)
    mask[120:156, 200:236] = True
    image[mask] = (220, 30, 30)
    return image, mask


@pytest.mark.parametrize("mode", ["nobrs", "f-brs-b"])
def test_zoom_from_the_first_click_with_skip_clicks_zero(mode):
    """`skip_clicks=0` (f-BRS's option): after the first click on a small object the prediction is redone inside
    the zoomed crop, so the session has an ROI around the object at once; the reference `skip_clicks=1` keeps
    the whole image for clicks 1 and 2."""
    from inference.model_zoo import load_model

    model = load_model("default")
    image, mask = _small_object_scene()
    first = Click(x=217, y=137, positive=True)
    sessions = {skip: SegmentationSession(model, image, mode=mode,
                                           config=PredictorConfig(zoom_in=ZoomInParams(skip_clicks=skip)))
                for skip in (0, 1)}
    maps = {skip: session.add_click(first) for skip, session in sessions.items()}
    assert sessions[1].roi is None
    x0, y0, x1, y1 = sessions[0].roi
    assert x0 <= 200 and y0 <= 120 and x1 >= 235 and y1 >= 155       # the object is inside the crop
    assert (x1 - x0 + 1) * (y1 - y0 + 1) < 0.5 * 300 * 400            # and the crop is not the whole image
    assert not np.array_equal(maps[0], maps[1])                        # the first map was re-predicted
    for skip in (0, 1):
        predicted = maps[skip] > 0.49
        assert (predicted & mask).sum() / (predicted | mask).sum() > 0.8


def test_predictor_settings_are_checked():
    """Settings that cannot run are refused when the config is made, with the setting's name."""
    from inference.predictors.brs import LBFGSParams

    for field, bad in (("prob_thresh", 1.0), ("net_clicks_limit", 0), ("net_clicks_limit", "all"),
                       ("max_size", 8), ("min_iou_diff", 1.0), ("reg_weight", -1.0),
                       ("optimize_after_n_clicks", -1)):
        with pytest.raises(ValueError, match=field):
            PredictorConfig(**{field: bad})
    with pytest.raises(ValueError, match="maxfun"):
        LBFGSParams(maxfun=0)
    with pytest.raises(ValueError, match="skip_clicks"):
        ZoomInParams(skip_clicks=-2)
    with pytest.raises(ValueError, match="target_size"):
        ZoomInParams(target_size=0)
