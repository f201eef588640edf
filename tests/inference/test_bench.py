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
                       "--size", "64", "--clicks", "2", "--threads", "1", "--zoom-in", "off", "--json", str(out)])
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
                             zoom_in=False, log=lambda s: None, image_path=str(image),
                             click_list=[[94, 88, 1], [190, 86, 0], [200, 34, 1]])
    # 240x160 scaled to longest side 120: clicks halved (banker's rounding of 47.0, 44.0, 95.0, 43.0)
    assert report["click_list"] == [[47.0, 44.0, True], [95.0, 43.0, False]]
    assert [m["mode"] for m in report["modes"]] == ["nobrs", "grabcut"]
    assert all(m["ratio_to_rgb_brs"] is None for m in report["modes"])


def test_bench_flip_and_bn_fusion_switches(tmp_path):
    out = tmp_path / "bench.json"
    assert bench.main(["--model", "default", "--modes", "nobrs", "--size", "64", "--clicks", "1", "--threads", "1",
                       "--zoom-in", "off", "--flip", "off", "--optimise", "off", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["with_flip"] is False and report["bn_fused"] is False
    auto = bench.run_bench("default", ["nobrs"], 64, 1, threads=1, zoom_in=False, log=lambda s: None)
    assert auto["with_flip"] is True and auto["bn_fused"] is True   # our network fuses by default


def test_bench_refinement_switch(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--model", "default", "--modes", "nobrs", "--size", "64", "--clicks", "2", "--threads", "1",
                       "--zoom-in", "off", "--refine-radius", "2", "--refine-eps", "0.01", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["refine"] == {"radius": 2, "eps": 0.01, "max_side": 1024}
    assert report["modes"][0]["setup_s"] > 0
    assert bench.main(["--model", "default", "--modes", "nobrs", "--size", "64", "--refine-radius", "0"]) == 2
    assert "radius" in capsys.readouterr().err


def test_bench_learnt_refiner_switch(tmp_path, capsys):
    """--refine-net reaches the timed sessions and the report; without --refine-radius it is refused."""
    from inference.refine_net import RefinerNet, save_refiner

    save_refiner(RefinerNet(width=4, dilations=(1,)), tmp_path / "r.pth")
    out = tmp_path / "bench.json"
    assert bench.main(["--model", "default", "--modes", "f-brs-b", "--size", "64", "--clicks", "2", "--threads", "1",
                       "--refine-radius", "2", "--refine-net", str(tmp_path / "r.pth"), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["refine_net"] == str(tmp_path / "r.pth")
    assert bench.main(["--model", "default", "--modes", "nobrs", "--size", "64", "--refine-net",
                       str(tmp_path / "r.pth")]) == 2
    assert "refine_net needs refine" in capsys.readouterr().err


def test_bench_brs_budget_caps_the_objective_evaluations(tmp_path, capsys):
    """--brs-maxfun bounds f-BRS-B's L-BFGS evaluations per click and is reported; bad budgets are refused."""
    out = tmp_path / "bench.json"
    assert bench.main(["--model", "default", "--modes", "f-brs-b", "--size", "96", "--clicks", "4", "--threads", "1",
                       "--zoom-in", "off", "--brs-min-iou-diff", "0", "--brs-maxfun", "2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["brs"] == {"min_iou_diff": 0, "maxfun": 2, "warm_start": True, "net_clicks_limit": "auto",
                            "prev_mask": "optimised", "click_radius": 1}
    evals = report["modes"][0]["n_objective_evals"]
    assert max(evals) <= 3   # scipy may overshoot maxfun by one evaluation
    for flag, value in (("--brs-maxfun", "0"), ("--brs-min-iou-diff", "1"), ("--net-clicks-limit", "some"),
                        ("--net-clicks-limit", "0")):
        assert bench.main(["--model", "default", "--modes", "f-brs-b", "--size", "64", flag, value]) == 2
        assert flag in capsys.readouterr().err


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


def test_bench_cold_start_clicks_limit_and_click_radius_reach_the_session(session_configs, capsys):
    """--brs-warm-start off / --net-clicks-limit none / --brs-click-radius 0 are what the timed sessions get;
    a negative radius is refused."""
    assert bench.main(["--model", "default", "--modes", "f-brs-b", "--size", "64", "--clicks", "2", "--threads", "1",
                       "--zoom-in", "off", "--brs-warm-start", "off", "--net-clicks-limit", "none",
                       "--brs-click-radius", "0"]) == 0
    timed = session_configs[-1]
    assert timed.brs_warm_start is False and timed.net_clicks_limit is None and timed.zoom_in is None
    assert timed.brs_click_radius == 0
    with pytest.raises(SystemExit):
        bench.main(["--model", "default", "--modes", "f-brs-b", "--size", "64", "--brs-click-radius", "-1"])
    assert "integer ≥ 0" in capsys.readouterr().err


def test_bench_zoom_settings_reach_the_session(tmp_path, monkeypatch, capsys):
    """`--zoom-skip-clicks N` and `--zoom-min-crop PX` build the timed session's ZoomIn and are recorded in the
    report; without ZoomIn, or out of range, they are refused."""
    from inference.transforms import zoom_in as zoom_module

    built: list[tuple[int, float]] = []
    real_init = zoom_module.ZoomIn.__init__

    def recording(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        built.append((self.skip_clicks, self.min_crop_size))

    monkeypatch.setattr(zoom_module.ZoomIn, "__init__", recording)
    out = tmp_path / "bench.json"
    assert bench.main(["--model", "default", "--modes", "nobrs", "--size", "64", "--clicks", "2", "--threads", "1",
                       "--zoom-skip-clicks", "0", "--zoom-min-crop", "90", "--json", str(out)]) == 0
    assert built[-1] == (0, 90)   # the timed session (the clicks are simulated beforehand with the reference ZoomIn)
    report = json.loads(out.read_text())
    assert report["zoom_in"]["skip_clicks"] == 0 and report["zoom_in"]["min_crop_size"] == 90
    for extra in (["--zoom-skip-clicks", "-2"], ["--zoom-min-crop", "0"], ["--zoom-in", "off", "--zoom-min-crop", "90"],
                  ["--zoom-in", "off", "--zoom-skip-clicks", "0"]):
        with pytest.raises(SystemExit) as stop:
            bench.main(["--model", "default", "--modes", "nobrs", "--size", "64", *extra])
        assert stop.value.code == 2
    assert "need --zoom-in on" in capsys.readouterr().err


def test_bench_tta_scales_reach_the_session_and_are_refused_where_unsupported(tmp_path, session_configs, capsys):
    """`--tta-scales` is what the timed sessions get and is recorded; modes without it, and bad values, are
    refused."""
    out = tmp_path / "bench.json"
    assert bench.main(["--model", "default", "--modes", "nobrs,f-brs-b", "--size", "64", "--clicks", "2",
                       "--threads", "1", "--tta-scales", "1.25", "--json", str(out)]) == 0
    assert [c.tta_scales for c in session_configs[-2:]] == [(1.25,), (1.25,)]
    assert json.loads(out.read_text())["tta_scales"] == [1.25]
    assert bench.main(["--model", "default", "--modes", "rgb-brs", "--size", "64", "--tta-scales", "1.25"]) == 2
    assert "rgb-brs" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        bench.main(["--model", "default", "--modes", "nobrs", "--tta-scales", "1"])
    assert stop.value.code == 2
