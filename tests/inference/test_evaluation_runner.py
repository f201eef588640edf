"""The evaluation loop on synthetic samples: all-clicks vs early stop, SPC counting, summaries, reports.

A toy eroded-ground-truth "oracle" stands in for a predictor here (the loop's logic does not depend on the model);
the real SegmentationSession is driven in test_evaluation_cli.py / test_evaluation_parity.py."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from inference.evaluation.datasets import Sample
from inference.evaluation.report import results_table, write_outputs
from inference.evaluation.runner import EvalConfig, evaluate_sample, summarize_mode


class ErodedOracle:
    """Toy session: returns the object mask eroded (3x3) ``steps - clicks`` times, so IoU rises with
    every click and is perfect from click ``steps`` on; ``radius`` > 0 instead paints a disk around the
    first click (for a closed-form first IoU)."""

    def __init__(self, image, gt, steps=5):
        self.gt = gt.astype(np.uint8)
        self.steps = steps
        self.clicks = []

    def add_click(self, click):
        self.clicks.append(click)
        n = max(0, self.steps - len(self.clicks))
        mask = cv2.erode(self.gt, np.ones((3, 3), np.uint8), iterations=n) if n else self.gt
        return mask.astype(np.float32)


def oracle_for(sample, steps=5):
    return lambda image: ErodedOracle(image, sample.gt, steps)


def blob_sample(sample_id="blob"):
    h, w = 24, 32
    gt = np.zeros((h, w), bool)
    gt[4:18, 6:26] = True
    ignore = np.zeros_like(gt)
    ignore[3, 6:26] = True
    return Sample(sample_id, np.zeros((h, w, 3), np.uint8), gt, ignore)


def test_all_clicks_prefix_equals_early_stopped_run():
    sample = blob_sample()
    full = evaluate_sample(oracle_for(sample), sample, "toy", max_clicks=20)
    stopped = evaluate_sample(oracle_for(sample), sample, "toy", max_clicks=20, early_stop=True)
    assert len(full.ious) == 20
    assert stopped.ious[-1] >= 0.90 > max(stopped.ious[:-1])
    k = len(stopped.ious)
    assert full.ious[:k] == stopped.ious and full.clicks[:k] == stopped.clicks
    assert full.clicks_to_target == stopped.clicks_to_target == k
    assert len({(x, y) for x, y, _ in full.clicks}) == 20  # never the same pixel twice


def test_first_click_is_positive_and_ious_are_measured_with_ignore():
    sample = blob_sample()
    everything = lambda image: type("All", (), {"add_click": lambda self, c: np.ones(image.shape[:2])})()
    result = evaluate_sample(everything, sample, "toy", max_clicks=1)
    assert result.clicks[0][2] is True
    assert result.ious == [pytest.approx(sample.gt.sum() / (~sample.ignore).sum())]


def test_session_with_wrong_output_shape_is_reported():
    class Bad(ErodedOracle):
        def add_click(self, click):
            return np.zeros((3, 3), np.float32)

    with pytest.raises(RuntimeError, match="shape"):
        evaluate_sample(lambda im: Bad(im, blob_sample().gt), blob_sample(), "toy")


def test_summary_counts_spc_up_to_target_only():
    samples = [blob_sample("a"), blob_sample("b")]
    results = [evaluate_sample(oracle_for(s, steps), s, "toy", max_clicks=20)
               for s, steps in zip(samples, (4, 6))]
    for r in results:  # make the timing deterministic
        r.seconds = [1.0] * r.clicks_to_target + [100.0] * (len(r.ious) - r.clicks_to_target)
    summary = summarize_mode(results, dataset="Toy", model=None, mode="toy", max_clicks=20)
    assert summary["n"] == 2 and summary["clicks_total"] == 40
    assert summary["spc"] == pytest.approx(1.0)
    assert summary["spc_clicks"] == results[0].clicks_to_target + results[1].clicks_to_target
    assert summary["noc"]["90"] == pytest.approx((results[0].clicks_to_target
                                                  + results[1].clicks_to_target) / 2)
    assert summary["miou"]["20"] == pytest.approx(1.0)
    assert summary["nof"] == {"85": 0, "90": 0}
    assert summary["miou"]["1"] == pytest.approx((results[0].ious[0] + results[1].ious[0]) / 2)
    assert set(summary["miou"]) == {"1", "2", "3", "5", "10", "20"}


def test_early_stopped_summary_has_null_miou_after_stop():
    sample = blob_sample()
    results = [evaluate_sample(oracle_for(sample), sample, "toy", early_stop=True)]
    summary = summarize_mode(results, dataset="Toy", model=None, mode="toy", max_clicks=20)
    assert summary["miou"]["20"] is None and summary["miou"]["1"] is not None


def test_reports_written(tmp_path):
    sample = blob_sample()
    results = [evaluate_sample(oracle_for(sample), sample, "toy", max_clicks=5)]
    summaries = [summarize_mode(results, dataset="GrabCut", model="m.pth", mode=m, max_clicks=5,
                                extra={"zoom_in": False}) for m in ("nobrs", "f-brs-b")]
    paths = write_outputs(summaries, tmp_path)
    assert json.loads(paths["summary"].read_text())[1]["mode"] == "f-brs-b"
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = paths["markdown"].read_text()
    assert "GrabCut NoC@85" in md and "m.pth / f-brs-b" in md


def test_results_table_merges_datasets_per_model_and_mode():
    def fake(ds, mode, noc90):
        return {"dataset": ds, "model": None, "mode": mode, "noc": {"80": 1.0, "85": 2.0, "90": noc90},
                "nof": {"85": 0, "90": 3}}
    table = results_table([fake("GrabCut", "grabcut", 5.0), fake("Berkeley", "grabcut", 7.5)])
    lines = table.strip().splitlines()
    assert lines[0].split(" | ")[2:5] == ["GrabCut NoC@85", "GrabCut NoC@90", "Berkeley NoC@90"]
    assert len(lines) == 3 and "| 2.00 | 5.00 | 7.50 |" in lines[2]


def test_config_validation():
    with pytest.raises(ValueError, match="unknown mode"):
        EvalConfig(dataset_dir=".", modes=("nope",), model="x")
    with pytest.raises(ValueError, match="model"):
        EvalConfig(dataset_dir=".", modes=("nobrs",))
    EvalConfig(dataset_dir=".", modes=("grabcut",))  # no model needed
    with pytest.raises(ValueError, match="unknown preset"):
        EvalConfig(dataset_dir=".", modes=("grabcut",), preset="tuned")
    with pytest.raises(ValueError, match="unknown setting 'target_sise'"):
        EvalConfig(dataset_dir=".", modes=("grabcut",), overrides=(("target_sise", "480"),))
    with pytest.raises(ValueError, match="zoom_in is off"):
        EvalConfig(dataset_dir=".", modes=("grabcut",), overrides=(("zoom_in", "off"), ("zoom_in.target_size", "480")))
    for name, bad in (("net_clicks_limit", "0"), ("reg_weight", "-1"), ("min_iou_diff", "1"),
                      ("lbfgs.maxfun", "0"), ("lbfgs.maxfun", "2.5")):
        with pytest.raises(ValueError, match=name.split(".")[-1]):
            EvalConfig(dataset_dir=".", modes=("f-brs-b",), model="default", overrides=((name, bad),))


def test_presets_resolve_to_what_the_sessions_get():
    """The app preset is the reference plus the guided filter and max size 800, with f-BRS-B cold-started and
    given every click; overrides replace single fields of the mode's settings."""
    from inference.postprocess.guided_filter import GuidedFilterParams
    from inference.predictors.base import PredictorConfig, ZoomInParams

    reference = EvalConfig(dataset_dir=".", modes=("nobrs",), model="x", preset="reference")
    assert reference.predictor_config("nobrs") == PredictorConfig()
    assert reference.predictor_config("nobrs").zoom_in == ZoomInParams()
    app = EvalConfig(dataset_dir=".", modes=("nobrs", "f-brs-b"), model="x")
    for mode in ("nobrs", "f-brs-a", "f-brs-b"):
        config = app.predictor_config(mode)
        assert config.refine == GuidedFilterParams(4, 1e-3) and config.max_size == 800
        assert (config.brs_warm_start, config.net_clicks_limit) == (
            (False, None) if mode == "f-brs-b" else (True, "auto"))
    tuned = EvalConfig(dataset_dir=".", modes=("f-brs-b",), model="x",
                       overrides=(("zoom_in.target_size", "480"), ("zoom_in.expansion_ratio", "1.8"),
                                  ("lbfgs.maxfun", "40"), ("reg_weight", "1e-2"), ("min_iou_diff", "1e-3"),
                                  ("brs_warm_start", "on"), ("refine.radius", "2")))
    config = tuned.predictor_config("f-brs-b")
    assert (config.zoom_in.target_size, config.zoom_in.expansion_ratio) == (480, 1.8)
    assert config.zoom_in.skip_clicks == ZoomInParams().skip_clicks
    assert config.lbfgs.as_kwargs()["maxfun"] == 40 and config.lbfgs.as_kwargs()["maxiter"] == 80
    assert config.reg_weight == 1e-2 and config.min_iou_diff == 1e-3 and config.brs_warm_start is True
    assert config.refine == GuidedFilterParams(2, 1e-3) and config.net_clicks_limit is None
    assert config.prob_thresh == 0.49 and config.with_flip
    fixed = EvalConfig(dataset_dir=".", modes=("nobrs",), model="x", overrides=(("zoom_in.target_size", "192,256"),))
    assert fixed.predictor_config("nobrs").zoom_in.target_size == (192, 256)
    off = EvalConfig(dataset_dir=".", modes=("nobrs",), model="x", overrides=(("zoom_in", "off"), ("refine", "off"),
                                                                            ("net_clicks_limit", "3")))
    assert off.predictor_config("nobrs").zoom_in is None and off.predictor_config("nobrs").refine is None
    assert off.predictor_config("nobrs").net_clicks_limit == 3
