"""The learnt boundary refiner (`inference.refine_net`), its training data and training, and its use by the
predictor, the session and the evaluation command."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.clicks import Click
from inference.evaluation.datasets import Sample
from inference.evaluation.runner import EvalConfig
from inference.predictors.base import PredictorConfig
from inference.refine import GuidedFilterParams, GuidedRefiner
from inference.refine_net import (DISK_RADIUS, LearntRefiner, RefinerNet, click_disks, load_refiner,
                                  normalise_image, refiner_inputs, save_refiner)
from inference.session import SegmentationSession
from inference.training.refiner_train import RefinerTrainConfig, crop_example, train_refiner


def square_scene(size: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image uint8 (H, W, 3), gt bool, blurred and shifted probability map) of a coloured square."""
    rng = np.random.default_rng(seed)
    gt = np.zeros((size, size), bool)
    gt[12:36, 14:38] = True
    image = np.where(gt[..., None], (200, 60, 40), (30, 90, 160)).astype(np.float64)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    shifted = np.roll(gt, 3, axis=1).astype(np.float32)
    import cv2
    probs = cv2.GaussianBlur(shifted, (9, 9), 3)
    return image, gt, probs


def random_refiner(path, seed: int = 0) -> RefinerNet:
    """A refiner with random (non-zero) head weights, saved to `path`."""
    torch.manual_seed(seed)
    net = RefinerNet(width=4, dilations=(1, 2))
    torch.nn.init.normal_(net.head.weight, std=0.5)
    save_refiner(net.eval(), path, {"note": "test"})
    return net


def test_untrained_refiner_returns_the_guided_map():
    image, _, probs = square_scene()
    guided = GuidedRefiner(image, GuidedFilterParams()).refine(probs)
    refined = LearntRefiner(RefinerNet().eval(), image).refine(probs, guided, [Click(20, 20, True)])
    assert refined.dtype == np.float32 and refined.shape == probs.shape
    inside = (guided > 1e-3) & (guided < 1 - 1e-3)   # outside, the logit clip saturates
    np.testing.assert_allclose(refined[inside], guided[inside], atol=1e-5)


def test_click_disks_are_drawn_at_x_y():
    disks = click_disks([Click(10, 3, True), Click(2, 20, False)], (24, 16))
    assert disks.shape == (2, 24, 16)
    assert disks[0, 3, 10] == 1 and disks[0, 10, 3] == 0 and disks[1, 20, 2] == 1
    assert disks[0].sum() == pytest.approx(disks[0, :9, 5:16].sum())          # radius-5 disk around (10, 3)
    assert disks[0, 3, 10 - DISK_RADIUS] == 1 and disks[0, 3, 10 - DISK_RADIUS - 1] == 0


def test_inputs_have_the_documented_channels_and_reject_mismatched_shapes():
    image, _, probs = square_scene()
    inputs = refiner_inputs(normalise_image(image), probs, probs, [Click(5, 7, False)])
    assert inputs.shape == (1, 7, 48, 48) and inputs.dtype == torch.float32
    assert torch.equal(inputs[0, 3], inputs[0, 4]) and inputs[0, 6, 7, 5] == 1 and inputs[0, 5].sum() == 0
    assert float(inputs[0, 3, 24, 25]) > 0 > float(inputs[0, 3, 2, 2])        # logits: object > 0 > background
    with pytest.raises(ValueError, match="shapes differ"):
        refiner_inputs(normalise_image(image), probs, probs[:, :40], [])


def test_weights_round_trip_and_bad_files_are_refused(tmp_path):
    net = random_refiner(tmp_path / "r.pth")
    loaded = load_refiner(tmp_path / "r.pth")
    assert loaded.width == 4 and loaded.dilations == (1, 2) and not loaded.training
    x = torch.randn(1, 7, 20, 20)
    torch.testing.assert_close(loaded(x), net(x))
    with pytest.raises(FileNotFoundError, match="not found"):
        load_refiner(tmp_path / "missing.pth")
    torch.save({"state_dict": {}, "config": {"class": "mobilenetv2_deeplabv3p"}}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a refiner"):
        load_refiner(tmp_path / "other.pth")


def test_session_applies_the_refiner_after_the_guided_filter(ritm_net, toy_image, tmp_path):
    """The session returns refiner(raw, guided, clicks); the network's next previous mask stays the raw map."""
    random_refiner(tmp_path / "r.pth")
    params = GuidedFilterParams(2, 1e-3)
    plain = SegmentationSession(ritm_net, toy_image, mode="nobrs", zoom_in=False)
    learnt = SegmentationSession(ritm_net, toy_image, mode="nobrs",
                                 config=PredictorConfig(zoom_in=None, refine=params, refine_net=str(tmp_path / "r.pth")))
    guide = GuidedRefiner(toy_image, params)
    by_hand = LearntRefiner(load_refiner(tmp_path / "r.pth"), toy_image)
    clicks = []
    for click in (Click(30, 22, True), Click(5, 5, False)):
        clicks.append(click)
        raw = plain.add_click(click)
        out = learnt.add_click(click)
        np.testing.assert_allclose(out, by_hand.refine(raw, guide.refine(raw), clicks), atol=1e-6)
        assert not np.allclose(out, guide.refine(raw), atol=1e-3)
        assert torch.equal(learnt.predictor.prev_prediction, plain.predictor.prev_prediction)
    with pytest.raises(ValueError, match="refine_net needs refine"):
        PredictorConfig(refine_net=str(tmp_path / "r.pth"))


def test_evaluation_config_checks_the_refiner(tmp_path):
    random_refiner(tmp_path / "r.pth")
    config = EvalConfig(dataset_dir="unused", modes=("nobrs",), model="default", refine=(4, 1e-3),
                        refine_net=str(tmp_path / "r.pth"))
    assert config.predictor_config().refine_net == str(tmp_path / "r.pth")
    with pytest.raises(ValueError, match="refine_net needs refine"):
        EvalConfig(dataset_dir="unused", modes=("nobrs",), model="default", refine_net=str(tmp_path / "r.pth"))
    with pytest.raises(FileNotFoundError):
        EvalConfig(dataset_dir="unused", modes=("nobrs",), model="default", refine=(4, 1e-3),
                   refine_net=str(tmp_path / "missing.pth"))


def test_crops_shift_and_flip_the_clicks_with_the_pixels():
    image, gt, probs = square_scene()
    snapshot = {"image": image, "norm_image": normalise_image(image), "gt": gt, "ignore": np.zeros_like(gt),
                "raw": probs.astype(np.float16), "guided": probs.astype(np.float16), "clicks": [Click(20, 30, True)]}
    inputs, target, weight = crop_example(snapshot, (20, 30), 16, flip=False)   # crop x 12..27, y 22..37
    assert inputs.shape == (7, 16, 16) and inputs[5, 8, 8] == 1
    assert torch.equal(target[0], torch.from_numpy(gt[22:38, 12:28].astype(np.float32)))
    flipped, target_f, _ = crop_example(snapshot, (20, 30), 16, flip=True)
    assert flipped[5, 8, 16 - 1 - 8] == 1 and torch.equal(target_f, target.flip(-1))
    torch.testing.assert_close(flipped[:5], inputs[:5].flip(-1))
    corner, _, corner_weight = crop_example(snapshot, (0, 0), 16, flip=False)   # 8 px of padding each side
    assert corner_weight[0, :8].sum() == 0 and corner_weight[0, 8:, 8:].sum() == 64
    assert corner.shape == (7, 16, 16)


def test_training_lowers_the_loss_below_the_guided_map(tmp_path):
    """On shifted, blurred maps of sharp squares the refiner learns a correction the guided filter cannot make."""
    snapshots = []
    for seed in range(4):
        image, gt, probs = square_scene(seed=seed)
        guided = GuidedRefiner(image, GuidedFilterParams()).refine(probs)
        snapshots.append({"image": image, "gt": gt, "ignore": np.zeros_like(gt), "raw": probs.astype(np.float16),
                          "guided": guided.astype(np.float16), "clicks": [Click(25, 24, True)]})
    cfg = RefinerTrainConfig(crop=32, batch=8, lr=1e-2, minutes=5, max_steps=150, width=8, dilations=(1, 2, 4),
                             log_every=25)
    log = []
    train_refiner(snapshots, cfg, tmp_path / "r.pth", log.append)
    assert [entry["step"] for entry in log] == [25, 50, 75, 100, 125, 150]
    assert log[-1]["loss"] < 0.7 * log[-1]["guided_loss"]
    saved = torch.load(tmp_path / "r.pth", weights_only=True)
    assert saved["meta"]["steps"] == 150 and saved["meta"]["snapshots"] == 4
    assert load_refiner(tmp_path / "r.pth").width == 8
    with pytest.raises(ValueError, match="no training snapshots"):
        train_refiner([], cfg, tmp_path / "none.pth")


def test_trajectory_snapshots_follow_the_protocol(tmp_path):
    """Snapshots of the shipped model's trajectory: steps within the plan, one click per step, maps in [0, 1]."""
    from inference.model_zoo import load_model
    from inference.training.refiner_data import SnapshotPlan, read_snapshots, trajectory_snapshots, write_snapshots

    image, gt, _ = square_scene(64)
    sample = Sample("square", image, gt, np.zeros_like(gt))
    plan = SnapshotPlan(max_clicks=4, per_image=2)
    snaps = trajectory_snapshots(load_model("default", device="cpu"), sample, plan, np.random.default_rng(1))
    steps = snaps["steps"].tolist()
    assert 1 <= len(steps) <= 2 and steps == sorted(steps) and max(steps) <= 4
    assert snaps["raw"].shape == (len(steps), 64, 64) and snaps["raw"].dtype == np.float16
    assert float(snaps["raw"].min()) >= 0 and float(snaps["raw"].max()) <= 1
    write_snapshots(tmp_path / "s.npz", sample, snaps)
    read = read_snapshots(tmp_path / "s.npz")
    assert [len(s["clicks"]) for s in read] == steps
    assert read[0]["clicks"][0].positive and gt[int(read[0]["clicks"][0].y), int(read[0]["clicks"][0].x)]
    np.testing.assert_array_equal(read[0]["image"], image)


def test_train_command_refuses_an_empty_folder_and_bad_numbers(tmp_path, capsys):
    from inference.train_refiner import main

    assert main(["train", "--snapshots", str(tmp_path), "--out", str(tmp_path / "r.pth")]) == 2
    assert "no snapshots" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", "--snapshots", str(tmp_path), "--out", str(tmp_path / "r.pth"), "--batch", "0"])
    assert exc.value.code == 2


def test_evaluate_command_needs_the_guided_filter_and_a_real_file(tmp_path, capsys):
    from inference.evaluate import main

    with pytest.raises(SystemExit):
        main(["--dataset", str(tmp_path), "--model", "default", "--mode", "nobrs", "--refine-net", "r.pth",
              "--out", str(tmp_path / "o")])
    assert "--refine-net needs --refine-radius" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--dataset", str(tmp_path), "--model", "default", "--mode", "nobrs", "--refine-radius", "4",
              "--refine-net", str(tmp_path / "missing.pth"), "--out", str(tmp_path / "o")])
    assert "refiner weights not found" in capsys.readouterr().err


def test_snapshots_command_writes_one_file_per_image_and_resumes(tmp_path):
    """`snapshots` runs trajectories on an images/ + masks/ folder, one npz per image; a rerun skips them."""
    import cv2

    from inference.train_refiner import main
    from inference.training.refiner_data import read_snapshots

    folder = tmp_path / "train"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for seed in range(2):
        image, gt, _ = square_scene(64, seed)
        cv2.imwrite(str(folder / "images" / f"sq{seed}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / "masks" / f"sq{seed}.png"), gt.astype(np.uint8) * 255)
    out = tmp_path / "snap"
    args = ["snapshots", "--data", str(folder), "--out", str(out), "--workers", "1", "--max-clicks", "2",
            "--mode", "nobrs", "--mode", "f-brs-b"]
    assert main(args) == 0
    files = sorted(out.glob("*.npz"))
    assert [f.name for f in files] == ["train__sq0.npz", "train__sq1.npz"]
    assert all(1 <= len(s["clicks"]) <= 2 for f in files for s in read_snapshots(f))
    stamps = [f.stat().st_mtime_ns for f in files]
    assert main(args) == 0 and [f.stat().st_mtime_ns for f in files] == stamps
