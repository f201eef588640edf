"""The benchmark command on a tiny scene with the fixture network."""
from __future__ import annotations

import json

import numpy as np
import pytest

from inference import bench

WEIGHTS = "ritm_hrnet18s_itermask/weights.pth"


def test_synthetic_scene_shape_and_object():
    image, mask = bench.synthetic_scene(96)
    assert image.shape == (64, 96, 3) and image.dtype == np.uint8
    assert 0.05 < mask.mean() < 0.5


@pytest.mark.slow
def test_bench_cli_writes_the_contract_json(shared_fixtures, tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = bench.main(["--model", str(shared_fixtures / WEIGHTS), "--modes", "nobrs,rgb-brs,f-brs-b",
                       "--size", "64", "--clicks", "2", "--threads", "1", "--set", "zoom_in=off", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["size"] == 64 and report["device"] == "cpu"
    assert [m["mode"] for m in report["modes"]] == ["nobrs", "rgb-brs", "f-brs-b"]
    for m in report["modes"]:
        assert set(m) >= {"mode", "median_s", "p90_s", "peak_mb", "ratio_to_rgb_brs"}
        assert m["median_s"] > 0 and m["p90_s"] >= m["median_s"] and m["peak_mb"] > 0
    assert report["modes"][1]["ratio_to_rgb_brs"] == 1.0
    assert "| f-brs-b |" in capsys.readouterr().out


def test_bench_rejects_unknown_mode(shared_fixtures, capsys):
    code = bench.main(["--model", str(shared_fixtures / WEIGHTS), "--modes", "nobrs,warp", "--size", "64"])
    assert code == 2 and "unknown modes" in capsys.readouterr().err


def test_bench_with_image_and_click_list(shared_fixtures, tmp_path):
    image = shared_fixtures / "ritm_hrnet18s_itermask" / "image.png"
    report = bench.run_bench(str(shared_fixtures / WEIGHTS), ["nobrs", "grabcut"], 120, 2, threads=1,
                             overrides=[("zoom_in", "off")], log=lambda s: None, image_path=str(image),
                             click_list=[[94, 88, 1], [190, 86, 0], [200, 34, 1]])
    # 240x160 scaled to longest side 120: clicks halved (banker's rounding of 47.0, 44.0, 95.0, 43.0)
    assert report["click_list"] == [[47.0, 44.0, True], [95.0, 43.0, False]]
    assert [m["mode"] for m in report["modes"]] == ["nobrs", "grabcut"]
    assert all(m["ratio_to_rgb_brs"] is None for m in report["modes"])


def test_bench_flip_and_bn_fusion_switches(tmp_path):
    out = tmp_path / "bench.json"
    assert bench.main(["--model", "default", "--modes", "nobrs", "--size", "64", "--clicks", "1", "--threads", "1",
                       "--set", "zoom_in=off", "--set", "with_flip=off", "--optimise", "off",
                       "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["modes"][0]["settings"]["with_flip"] is False and report["bn_fused"] is False
    auto = bench.run_bench("default", ["nobrs"], 64, 1, threads=1, log=lambda s: None)
    assert auto["modes"][0]["settings"]["with_flip"] is True and auto["bn_fused"] is True   # ours fuses by default


@pytest.fixture
def session_configs(monkeypatch) -> list:
    """The `config` of every `SegmentationSession` made while the test runs, in order."""
    from inference import session as session_module

    configs = []
    real_init = session_module.SegmentationSession.__init__

    def recording_init(self, *args, **kwargs):
        configs.append(kwargs.get("config"))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(session_module.SegmentationSession, "__init__", recording_init)
    return configs


def test_bench_times_the_app_preset_by_default(tmp_path, session_configs):
    """Without --preset the timed sessions get the live workers' settings for their mode, recorded per mode."""
    from inference.predictors.presets import APP

    out = tmp_path / "bench.json"
    assert bench.main(["--model", "default", "--modes", "nobrs,f-brs-b", "--size", "64", "--clicks", "2",
                       "--threads", "1", "--json", str(out)]) == 0
    assert session_configs[-2:] == [APP.config("nobrs"), APP.config("f-brs-b")]
    report = json.loads(out.read_text())
    assert report["preset"] == "app" and report["overrides"] == {}
    assert report["modes"][1]["settings"]["brs_warm_start"] is False
    assert report["modes"][0]["settings"]["refine"] == {"radius": 4, "eps": 0.001, "max_side": 1024}
    assert report["modes"][0]["setup_s"] > 0


def test_bench_overrides_reach_the_session_and_bad_ones_are_refused(tmp_path, session_configs, capsys):
    """--preset reference and --set lbfgs.maxfun=2 are what the timed f-BRS-B session gets; the budget caps its
    evaluations; bad settings are refused with their name."""
    out = tmp_path / "bench.json"
    assert bench.main(["--model", "default", "--modes", "f-brs-b", "--size", "96", "--clicks", "4", "--threads", "1",
                       "--preset", "reference", "--set", "zoom_in=off", "--set", "min_iou_diff=0",
                       "--set", "lbfgs.maxfun=2", "--json", str(out)]) == 0
    timed = session_configs[-1]
    assert timed.zoom_in is None and timed.lbfgs.maxfun == 2 and timed.brs_warm_start is True
    report = json.loads(out.read_text())
    assert report["preset"] == "reference" and report["overrides"]["lbfgs.maxfun"] == "2"
    assert max(report["modes"][0]["n_objective_evals"]) <= 3   # scipy may overshoot maxfun by one evaluation
    for setting in ("lbfgs.maxfun=0", "min_iou_diff=1", "net_clicks_limit=0", "refine.radius=0"):
        assert bench.main(["--model", "default", "--modes", "f-brs-b", "--size", "64", "--set", setting]) == 2
        assert setting.split("=")[0].split(".")[-1] in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        bench.main(["--model", "default", "--modes", "nobrs", "--set", "tta_scales=1.25"])
    assert stop.value.code == 2 and "unknown setting" in capsys.readouterr().err
