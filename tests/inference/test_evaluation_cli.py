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
        (["--dataset", missing, "--mode", "grabcut", "--zoom-in", "maybe"], "on or off"),
        (["--dataset", missing, "--mode", "grabcut", "--zoom-in", "off", "--zoom-target", "480"],
         "need --zoom-in on"),
        (["--dataset", missing, "--mode", "grabcut", "--zoom-expansion", "0"], "number > 0"),
        (["--dataset", missing, "--mode", "grabcut", "--zoom-skip-clicks", "-2"], "integer ≥ -1"),
        (["--dataset", missing, "--mode", "grabcut", "--zoom-skip-clicks", "one"], "integer ≥ -1"),
        (["--dataset", missing, "--mode", "grabcut", "--zoom-in", "off", "--zoom-skip-clicks", "0"],
         "need --zoom-in on"),
        (["--dataset", missing, "--mode", "grabcut", "--zoom-min-crop", "0"], "integer ≥ 1"),
        (["--dataset", missing, "--mode", "grabcut", "--zoom-in", "off", "--zoom-min-crop", "100"],
         "need --zoom-in on"),
        (["--dataset", missing, "--mode", "grabcut", "--refine-eps", "0.01"], "--refine-eps needs --refine-radius"),
        (["--dataset", missing, "--mode", "grabcut", "--refine-radius", "0"], "integer ≥ 1"),
        (["--dataset", missing, "--mode", "grabcut", "--refine-feedback"], "--refine-feedback needs --refine-radius"),
        (["--dataset", missing, "--mode", "grabcut", "--net-clicks-limit", "some"], "auto, none or an integer"),
        (["--dataset", missing, "--mode", "grabcut", "--brs-reg-weight", "-1"], "number ≥ 0"),
        (["--dataset", missing, "--mode", "grabcut", "--brs-min-iou-diff", "1"], "number in [0, 1)"),
        (["--dataset", missing, "--mode", "grabcut", "--brs-maxfun", "0"], "integer ≥ 1"),
        (["--dataset", missing, "--mode", "grabcut", "--brs-warm-start", "cold"], "on or off"),
        (["--dataset", missing, "--mode", "grabcut", "--brs-prev-mask", "refined"], "invalid choice"),
        (["--dataset", missing, "--mode", "grabcut", "--focus", "maybe"], "on or off"),
        (["--dataset", missing, "--mode", "grabcut", "--focus", "on", "--brs-prev-mask", "network"],
         "--focus sets the previous-mask input itself"),
        (["--dataset", missing, "--mode", "grabcut", "--brs-trust-iou", "0"], "number in (0, 1]"),
        (["--dataset", missing, "--mode", "grabcut", "--brs-click-radius", "-1"], "integer ≥ 0"),
        (["--dataset", missing, "--mode", "grabcut", "--brs-click-radius", "one"], "integer ≥ 0"),
        (["--dataset", missing, "--mode", "grabcut", "--refine-radius", "4", "--refine-feedback",
          "--brs-prev-mask", "network"], "both choose the previous-mask input"),
        (["--dataset", missing, "--mode", "grabcut"], "not found"),
    ]
    for args, message in cases:
        res = subprocess.run([sys.executable, "-m", "inference.evaluate", *args, "--out", str(tmp_path / "o")],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert res.returncode == 2 and message in res.stderr, (args, res.stderr[-300:])


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
                     "--zoom-in", "off", "--max-clicks", "2", "--workers", workers, "--no-progress",
                     "--out", str(out)]) == 0
        runs.append(sorted((s["id"], s["clicks"], s["ious"]) for s in read_samples(out)))
    assert [r[:2] for r in runs[0]] == [r[:2] for r in runs[1]]
    for (_, _, ious1), (_, _, ious2) in zip(*runs):
        assert ious1 == pytest.approx(ious2, abs=1e-4)


def test_refinement_is_applied_and_reported(tmp_path):
    """`--refine-radius/--refine-eps` reach every session: the IoUs change and the outputs say so."""
    from inference.evaluate import main

    dataset = make_dataset(tmp_path / "ds", n=2)
    runs = {}
    for name, extra in (("plain", []), ("refined", ["--refine-radius", "2", "--refine-eps", "1e-3"])):
        out = tmp_path / name
        assert main(["--dataset", str(dataset), "--model", "default", "--mode", "nobrs", "--max-clicks", "3",
                     "--no-progress", "--out", str(out), *extra]) == 0
        runs[name] = out
    summaries = json.loads((runs["refined"] / "summary.json").read_text())
    assert summaries[0]["refine"] == {"radius": 2, "eps": 0.001, "max_side": 1024}
    assert "guided-filter refinement (radius 2, eps 0.001)" in (runs["refined"] / "summary.md").read_text()
    assert "no refinement" in (runs["plain"] / "summary.md").read_text()
    plain = [s["ious"] for s in read_samples(runs["plain"])]
    refined = [s["ious"] for s in read_samples(runs["refined"])]
    assert plain != refined


def test_brs_options_reach_the_sessions_and_the_summary(tmp_path, monkeypatch):
    """`--brs-prev-mask network`, `--brs-trust-iou` and `--brs-click-radius` reach every BRS session's config and
    are recorded in summary.json."""
    from inference.evaluate import main
    from inference.predictors import brs_base

    seen: list[tuple[str, float | None, int]] = []
    real = brs_base.BRSPredictor._optimise

    def recording(self, *args, **kwargs):
        seen.append((self.config.brs_prev_mask, self.config.brs_trust_iou, self.config.brs_click_radius))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(brs_base.BRSPredictor, "_optimise", recording)
    dataset = make_dataset(tmp_path / "ds", n=1)
    out = tmp_path / "out"
    assert main(["--dataset", str(dataset), "--model", "default", "--mode", "f-brs-b", "--max-clicks", "2",
                 "--zoom-in", "off", "--brs-warm-start", "off", "--brs-prev-mask", "network",
                 "--brs-trust-iou", "0.9", "--brs-click-radius", "0", "--no-progress",
                 "--out", str(out)]) == 0
    assert seen and set(seen) == {("network", 0.9, 0)}
    (summary,) = json.loads((out / "summary.json").read_text())
    assert summary["brs_prev_mask"] == "network" and summary["brs_warm_start"] is False
    assert summary["brs_trust_iou"] == 0.9 and summary["brs_click_radius"] == 0


def test_focus_reaches_the_sessions_and_the_summary(tmp_path):
    """`--focus on` gives every session the focus step and is recorded (with its settings) in summary.json."""
    from inference.evaluate import main

    dataset = make_dataset(tmp_path / "ds", n=1)
    runs = {}
    for flag in ("off", "on"):
        out = tmp_path / flag
        assert main(["--dataset", str(dataset), "--model", "default", "--mode", "nobrs", "--max-clicks", "4",
                     "--focus", flag, "--no-progress", "--out", str(out)]) == 0
        runs[flag] = out
    (summary,) = json.loads((runs["on"] / "summary.json").read_text())
    assert summary["focus"]["target_size"] == 320 and summary["focus"]["min_gain"] == 1.5
    assert json.loads((runs["off"] / "summary.json").read_text())[0]["focus"] is None


def test_zoom_start_and_min_crop_reach_the_sessions_and_the_summary(tmp_path, monkeypatch):
    """`--zoom-skip-clicks N` and `--zoom-min-crop PX` build every session's ZoomIn with those settings (the
    others unchanged) and are recorded in summary.json and summary.md."""
    from inference.evaluate import main
    from inference.transforms import zoom_in as zoom_module

    built: list[tuple[int, float, object, float]] = []
    real_init = zoom_module.ZoomIn.__init__

    def recording(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        built.append((self.skip_clicks, self.min_crop_size, self.target_size, self.expansion_ratio))

    monkeypatch.setattr(zoom_module.ZoomIn, "__init__", recording)
    dataset = make_dataset(tmp_path / "ds", n=2)
    out = tmp_path / "out"
    assert main(["--dataset", str(dataset), "--model", "default", "--mode", "nobrs", "--max-clicks", "2",
                 "--zoom-skip-clicks", "-1", "--zoom-min-crop", "120", "--no-progress", "--out", str(out)]) == 0
    assert built and set(built) == {(-1, 120, 400, 1.4)}
    (summary,) = json.loads((out / "summary.json").read_text())
    assert summary["zoom_params"]["skip_clicks"] == -1 and summary["zoom_params"]["min_crop_size"] == 120
    assert summary["zoom_params"]["target_size"] == 400
    assert "ZoomIn target 400, expansion 1.4, skip -1, min crop 120" in (out / "summary.md").read_text()


def test_tta_scales_reach_the_sessions_and_the_summary(tmp_path, monkeypatch):
    """`--tta-scales` gives every network session those extra scales and is recorded in summary.json and
    summary.md; without it the summary says none."""
    from inference import session as session_module
    from inference.evaluate import main

    scales_seen: list[tuple[float, ...]] = []
    real_init = session_module.SegmentationSession.__init__

    def recording(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        scales_seen.append(self.config.tta_scales)

    monkeypatch.setattr(session_module.SegmentationSession, "__init__", recording)
    dataset = make_dataset(tmp_path / "ds", n=2)
    runs = {}
    for extra in ([], ["--tta-scales", "0.75,1.25"]):
        out = tmp_path / f"out{len(extra)}"
        assert main(["--dataset", str(dataset), "--model", "default", "--mode", "f-brs-b", "--max-clicks", "2",
                     *extra, "--no-progress", "--out", str(out)]) == 0
        runs[bool(extra)] = out
    assert set(scales_seen) == {(), (0.75, 1.25)}
    assert json.loads((runs[True] / "summary.json").read_text())[0]["tta_scales"] == [0.75, 1.25]
    assert json.loads((runs[False] / "summary.json").read_text())[0]["tta_scales"] == []
    assert "logits averaged over input scales 1, 0.75, 1.25" in (runs[True] / "summary.md").read_text()
    assert "input scales" not in (runs[False] / "summary.md").read_text()
