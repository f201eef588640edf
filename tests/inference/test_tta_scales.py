"""`PredictorConfig.tta_scales`: logits averaged over extra input scales (NoBRS and f-BRS)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inference.clicks import Click
from inference.predictors import build_predictor, supports_tta_scales
from inference.predictors.base import PredictorConfig
from inference.session import SegmentationSession
from inference.transforms import AddHorizontalFlip
from inference.transforms.rescale import rescale_input

CLICKS = [Click(30, 22, True), Click(5, 5, False), Click(40, 30, True), Click(55, 40, False)]


def test_scales_are_checked_and_only_some_modes_take_them(ritm_net, toy_image):
    assert PredictorConfig(tta_scales=(0.75, 2)).tta_scales == (0.75, 2.0)
    for bad in ((1.0,), (0.0,), (-0.5,), (0.5, 0.5), (20.0,), ("2",)):
        with pytest.raises(ValueError, match="tta_scales"):
            PredictorConfig(tta_scales=bad)
    assert [m for m in ("nobrs", "f-brs-a", "f-brs-b", "f-brs-c", "rgb-brs", "distmap-brs", "grabcut")
            if supports_tta_scales(m)] == ["nobrs", "f-brs-a", "f-brs-b", "f-brs-c"]
    for mode in ("rgb-brs", "distmap-brs"):
        with pytest.raises(ValueError, match="tta_scales"):
            SegmentationSession(ritm_net, toy_image, mode=mode, config=PredictorConfig(zoom_in=None, tta_scales=(0.5,)))


def test_rescale_input_maps_clicks_as_zoom_in_does():
    image = torch.rand(2, 4, 48, 64)
    resized, clicks = rescale_input(image, [[Click(10, 20, True)], [Click(63, 0, False)]], 1.5)
    assert resized.shape == (2, 4, 72, 96)
    assert clicks == [[Click(15.0, 30.0, True)], [Click(94.5, 0.0, False)]]
    with pytest.raises(ValueError, match="positive"):
        rescale_input(image, [[]], 0)


def _batch(image: np.ndarray, prev: torch.Tensor, clicks: list[Click]):
    """The transformed batch NoBRS builds without ZoomIn: image + previous mask, flipped copy appended."""
    tensor = torch.from_numpy(image.transpose(2, 0, 1).copy()).float().div(255)[None]
    return AddHorizontalFlip().transform(torch.cat([tensor, prev], dim=1), [clicks])


def test_nobrs_averages_the_logits_over_the_scales(ritm_net, toy_image):
    config = PredictorConfig(zoom_in=None, tta_scales=(0.5, 1.5))
    predictor = build_predictor("nobrs", ritm_net, torch.device("cpu"), config)
    predictor.set_input_image(toy_image)
    prev = predictor.prev_prediction.clone()
    with torch.no_grad():
        probs = predictor.predict(CLICKS[:2])
        batch, click_lists = _batch(toy_image, prev, CLICKS[:2])
        total = torch.zeros(2, 1, 48, 64)
        for scale in (1.0, 0.5, 1.5):
            image, scaled = rescale_input(batch, click_lists, scale) if scale != 1 else (batch, click_lists)
            logits = ritm_net(image, predictor.points(scaled))["instances"]
            total += F.interpolate(logits, size=(48, 64), mode="bilinear", align_corners=True)
        total = total / 3
        expected = torch.sigmoid((total[:1] + torch.flip(total[1:], dims=[3])) / 2)[0, 0].numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    plain = build_predictor("nobrs", ritm_net, torch.device("cpu"), PredictorConfig(zoom_in=None))
    plain.set_input_image(toy_image)
    assert np.abs(plain.predict(CLICKS[:2]) - probs).max() > 1e-3     # the extra scales change the map
    np.testing.assert_array_equal(predictor.prev_prediction.numpy()[0, 0], probs)   # and what is fed back


def test_fbrs_applies_the_optimised_scale_and_bias_at_the_extra_scales(ritm_net, toy_image):
    config = PredictorConfig(zoom_in=None, net_clicks_limit=None, brs_warm_start=False, tta_scales=(0.5,))
    fbrs = SegmentationSession(ritm_net, toy_image, mode="f-brs-b", config=config)
    nobrs = SegmentationSession(ritm_net, toy_image, mode="nobrs", config=config)
    # first click: nothing is optimised, so f-BRS-B with the extra scale is NoBRS with it
    np.testing.assert_allclose(fbrs.add_click(CLICKS[0]), nobrs.add_click(CLICKS[0]), atol=1e-5)
    predictor = fbrs.predictor
    for n in range(2, len(CLICKS) + 1):
        prev = predictor.prev_prediction.clone()
        fbrs.add_click(CLICKS[n - 1])
        if np.abs(predictor.opt_data).max() > 0:          # the optimisation moved the variables
            break
    else:
        pytest.fail("no click was optimised")
    batch, click_lists = _batch(toy_image, prev, CLICKS[:n])
    scaled, scaled_clicks = rescale_input(batch, click_lists, 0.5)
    with torch.no_grad():
        optimised = predictor._logits_at_scale(scaled, scaled_clicks)
        predictor.opt_data = np.zeros_like(predictor.opt_data)
        identity = predictor._logits_at_scale(scaled, scaled_clicks)
        plain = ritm_net(scaled, predictor.points(scaled_clicks))["instances"]
    torch.testing.assert_close(identity, plain, atol=1e-5, rtol=1e-4)
    assert (optimised - identity).abs().max() > 1e-3


def test_evaluation_and_cli_take_the_scales(tmp_path):
    from inference.evaluate import main
    from inference.evaluation.runner import EvalConfig

    config = EvalConfig(dataset_dir=str(tmp_path), modes=("nobrs", "f-brs-b", "grabcut"), model="default",
                        tta_scales=(1.25,))
    assert config.predictor_config().tta_scales == (1.25,)
    with pytest.raises(ValueError, match="rgb-brs"):
        EvalConfig(dataset_dir=str(tmp_path), modes=("nobrs", "rgb-brs"), model="default", tta_scales=(1.25,))
    for extra, message in ((["--tta-scales", "1"], "other than 1"), (["--tta-scales", "0.5,x"], "numbers"),
                           (["--mode", "rgb-brs", "--tta-scales", "0.5"], "rgb-brs")):
        with pytest.raises(SystemExit) as exit_info:
            main(["--dataset", str(tmp_path), "--model", "default", "--mode", "nobrs", *extra, "--out",
                  str(tmp_path / "out")])
        assert exit_info.value.code == 2
