"""`python -m inference.evaluate` end to end on a tiny synthetic data set with the weights-free
`grabcut` mode (real SegmentationSession), argument errors, and the worker pool."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.conftest import REPO_ROOT


def make_dataset(root, n=2):
    """n 48x64 images: textured grey background, saturated ellipse object; masks with a 128 band."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        img = (rng.random((48, 64, 3)) * 60 + 60).astype(np.uint8)
        mask = np.zeros((48, 64), np.uint8)
        cv2.ellipse(mask, (30 + 2 * i, 24), (14, 9 + i), 0, 0, 360, 255, -1)
        img[mask > 0] = (30, 60, 230)
        band = cv2.dilate(mask, np.ones((3, 3), np.uint8)) != cv2.erode(mask, np.ones((3, 3), np.uint8))
        mask[band] = 128
        cv2.imwrite(str(root / "images" / f"img{i}.png"), img)
        cv2.imwrite(str(root / "masks" / f"img{i}.png"), mask)
    return root


def read_samples(out):
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def test_grabcut_end_to_end(tmp_path):
    from inference.evaluate import main

    dataset = make_dataset(tmp_path / "Synth")
    out = tmp_path / "out"
    assert main(["--dataset", str(dataset), "--mode", "grabcut", "--max-clicks", "3", "--no-progress",
                 "--out", str(out)]) == 0
    (summary,) = json.loads((out / "summary.json").read_text())
    for key in ("dataset", "model", "mode", "n", "noc", "nof", "miou", "spc", "clicks_total",
                "seconds_total"):
        assert key in summary
    assert summary["dataset"] == "Synth" and summary["mode"] == "grabcut" and summary["n"] == 2
    assert set(summary["noc"]) == {"80", "85", "90"} and set(summary["nof"]) == {"85", "90"}
    assert set(summary["miou"]) == {"1", "2", "3", "5", "10", "20"}
    assert summary["miou"]["5"] is None  # only 3 clicks were asked for
    samples = read_samples(out)
    assert [s["id"] for s in samples] == ["img0", "img1"]
    assert all(len(s["clicks"]) == len(s["ious"]) == 3 for s in samples)  # all clicks run by default
    # the first click of each sample is a positive click inside the object
    mask = cv2.imread(str(dataset / "masks" / "img0.png"), cv2.IMREAD_GRAYSCALE)
    first = samples[0]["clicks"][0]
    assert first["positive"] and mask[first["y"], first["x"]] == 255
    assert summary["miou"]["1"] == pytest.approx(np.mean([s["ious"][0] for s in samples]))
    assert summary["clicks_total"] == 6
    assert (out / "miou.png").read_bytes()[:4] == b"\x89PNG"
    assert "| grabcut |" in (out / "summary.md").read_text()


def test_workers_give_the_same_results_as_one_process(tmp_path):
    from inference.evaluate import main

    dataset = make_dataset(tmp_path / "Synth", n=3)
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        assert main(["--dataset", str(dataset), "--mode", "grabcut", "--max-clicks", "2", "--workers",
                     workers, "--limit", "2", "--no-progress", "--out", str(out)]) == 0
        outs.append(out)
    one, two = ([(s["id"], s["clicks"], s["ious"]) for s in read_samples(o)] for o in outs)
    assert len(one) == 2  # --limit
    assert sorted(one) == sorted(two)
    assert json.loads((outs[1] / "summary.json").read_text())[0]["workers"] == 2


def test_command_line_errors(tmp_path):
    """Each bad command line exits with status 2 and says what is wrong."""
    missing = str(tmp_path / "nope")
    cases = [
        (["--dataset", str(tmp_path), "--mode", "nobrs"], "--model is required"),
        (["--dataset", str(tmp_path), "--mode", "bogus"], "invalid choice"),
        (["--dataset", missing, "--mode", "grabcut", "--preset", "tuned"], "invalid choice"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "zoom_in"], "expected NAME=VALUE"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "focus=on"], "unknown setting 'focus'"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "zoom_in.target_size=0"], "target_size"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "zoom_in.skip_clicks=-2"], "skip_clicks"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "zoom_in.skip_clicks=one"], "cannot read 'one'"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "zoom_in=off", "--set", "zoom_in.target_size=480"],
         "zoom_in is off"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "refine.radius=0"], "radius"),
        (["--dataset", missing, "--mode", "grabcut", "--preset", "reference", "--set", "refine.eps=0.01"],
         "refine is off"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "net_clicks_limit=some"], "cannot read 'some'"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "reg_weight=-1"], "reg_weight"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "min_iou_diff=1"], "min_iou_diff"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "lbfgs.maxfun=0"], "maxfun"),
        (["--dataset", missing, "--mode", "grabcut", "--set", "brs_warm_start=cold"], "cannot read 'cold'"),
        (["--dataset", missing, "--mode", "grabcut", "--max-clicks", "0"], "integer ≥ 1"),
        (["--dataset", missing, "--mode", "grabcut"], "not found"),
    ]
    for args, message in cases:
        res = subprocess.run([sys.executable, "-m", "inference.evaluate", *args, "--out", str(tmp_path / "o")],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert res.returncode == 2 and message in res.stderr, (args, res.stderr[-300:])


def test_help_lists_at_most_fifteen_options():
    from inference.evaluate import build_parser

    options = [a for a in build_parser()._actions if a.option_strings]
    assert len(options) <= 15, [a.option_strings for a in options]


@pytest.mark.slow
def test_workers_with_a_real_model(tmp_path, shared_fixtures):
    """Spawned workers load the checkpoint themselves and give the in-process results (NoBRS, no zoom)."""
    from inference.evaluate import main

    fx = shared_fixtures / "ritm_hrnet18s_itermask"
    dataset = tmp_path / "fx"
    (dataset / "images").mkdir(parents=True)
    (dataset / "masks").mkdir()
    for name, mask in (("a", "gt_mask_target.png"), ("b", "gt_mask_train_object.png")):
        (dataset / "images" / f"{name}.png").write_bytes((fx / "image.png").read_bytes())
        (dataset / "masks" / f"{name}.png").write_bytes((fx / mask).read_bytes())
    runs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        assert main(["--dataset", str(dataset), "--model", str(fx / "weights.pth"), "--mode", "nobrs",
                     "--set", "zoom_in=off", "--max-clicks", "2", "--workers", workers, "--no-progress",
                     "--out", str(out)]) == 0
        runs.append(sorted((s["id"], s["clicks"], s["ious"]) for s in read_samples(out)))
    assert [r[:2] for r in runs[0]] == [r[:2] for r in runs[1]]
    for (_, _, ious1), (_, _, ious2) in zip(*runs):
        assert ious1 == pytest.approx(ious2, abs=1e-4)


def _recording_sessions(monkeypatch) -> list:
    """Patch SegmentationSession so that every session's (mode, config) is recorded in the returned list."""
    from inference import session as session_module

    seen: list = []
    real_init = session_module.SegmentationSession.__init__

    def recording(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        seen.append((self.mode, self.config))

    monkeypatch.setattr(session_module.SegmentationSession, "__init__", recording)
    return seen


def test_the_default_preset_is_what_the_live_workers_run(tmp_path, monkeypatch):
    """Without --preset every session gets the live worker's settings for its mode (the same object
    `inference.worker.service` reads), and summary.json / summary.md record the preset and the settings."""
    import dataclasses

    from inference.evaluate import main
    from inference.predictors.presets import APP
    from inference.worker.service import engine_session_factory

    seen = _recording_sessions(monkeypatch)
    dataset = make_dataset(tmp_path / "ds", n=2)
    out = tmp_path / "out"
    assert main(["--dataset", str(dataset), "--model", "default", "--mode", "nobrs", "--mode", "f-brs-b",
                 "--max-clicks", "2", "--no-progress", "--out", str(out)]) == 0
    picture = np.zeros((40, 60, 3), np.uint8)
    live = {mode: engine_session_factory(_default_model(), picture, mode).config for mode in ("nobrs", "f-brs-b")}
    assert {mode for mode, _ in seen} == {"nobrs", "f-brs-b"}
    for mode, config in seen:
        assert config == APP.config(mode) == live[mode]
    summaries = json.loads((out / "summary.json").read_text())
    for summary in summaries:
        assert summary["preset"] == "app" and summary["overrides"] == {}
        assert summary["settings"] == json.loads(json.dumps(dataclasses.asdict(APP.config(summary["mode"]))))
    fbrs_b = summaries[1]["settings"]
    assert fbrs_b["brs_warm_start"] is False and fbrs_b["net_clicks_limit"] is None
    text = (out / "summary.md").read_text()
    assert "preset `app`" in text and "guided filter radius 4, eps 0.001" in text


def _default_model():
    from inference.model_zoo import load_model
    return load_model("default")


def test_reference_preset_and_overrides_reach_the_sessions_and_the_summary(tmp_path, monkeypatch):
    """`--preset reference` gives the papers' settings, `--set` changes single ones, both recorded."""
    from inference.evaluate import main
    from inference.predictors.presets import REFERENCE

    seen = _recording_sessions(monkeypatch)
    dataset = make_dataset(tmp_path / "ds", n=1)
    out = tmp_path / "out"
    assert main(["--dataset", str(dataset), "--model", "default", "--mode", "f-brs-b", "--max-clicks", "2",
                 "--preset", "reference", "--set", "lbfgs.maxfun=7", "--set", "zoom_in.skip_clicks=-1",
                 "--set", "zoom_in.min_crop_size=120", "--set", "net_clicks_limit=none", "--no-progress",
                 "--out", str(out)]) == 0
    (mode, config), = set((m, c) for m, c in seen)
    assert config.lbfgs.maxfun == 7 and config.net_clicks_limit is None and config.refine is None
    assert (config.zoom_in.skip_clicks, config.zoom_in.min_crop_size, config.zoom_in.target_size) == (-1, 120, 400)
    assert config.brs_warm_start is REFERENCE.config("f-brs-b").brs_warm_start is True
    (summary,) = json.loads((out / "summary.json").read_text())
    assert summary["preset"] == "reference"
    assert summary["overrides"] == {"lbfgs.maxfun": "7", "zoom_in.skip_clicks": "-1",
                                    "zoom_in.min_crop_size": "120", "net_clicks_limit": "none"}
    assert summary["settings"]["lbfgs"]["maxfun"] == 7 and summary["settings"]["refine"] is None
    text = (out / "summary.md").read_text()
    assert "ZoomIn target 400, expansion 1.4, skip -1, min crop 120" in text and "no refinement" in text


def test_refinement_changes_the_results(tmp_path):
    """The app preset's guided filter reaches the maps: switching it off changes the IoUs."""
    from inference.evaluate import main

    dataset = make_dataset(tmp_path / "ds", n=2)
    runs = {}
    for name, extra in (("refined", []), ("plain", ["--set", "refine=off"])):
        out = tmp_path / name
        assert main(["--dataset", str(dataset), "--model", "default", "--mode", "nobrs", "--max-clicks", "3",
                     "--no-progress", "--out", str(out), *extra]) == 0
        runs[name] = [s["ious"] for s in read_samples(out)]
    assert runs["plain"] != runs["refined"]
