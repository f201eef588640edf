"""Copy-paste composites: what gets pasted where, which mask becomes the target, and when nothing is pasted."""
from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from inference.training.composite import PasteConfig, cut_object, paste_object, paste_objects
from inference.training.configs import get_config
from inference.training.data import AugmentConfig, PairDataset, Sample

RED, BLUE, GREY = (220, 30, 30), (20, 40, 230), (90, 90, 90)


def _base(size: int = 96) -> Sample:
    """A grey crop with a red square object (rows/cols 20..60) and an ignore band on the left edge."""
    image = np.full((size, size, 3), GREY, np.uint8)
    gt = np.zeros((size, size), bool)
    gt[20:60, 20:60] = True
    image[gt] = RED
    ignore = np.zeros_like(gt)
    ignore[:, :3] = True
    return Sample(image, gt, ignore)


def _donor() -> Sample:
    """A blue disk of radius 30 on black, 100 × 120."""
    gt = np.zeros((100, 120), np.uint8)
    cv2.circle(gt, (60, 50), 30, 1, -1)
    image = np.zeros((100, 120, 3), np.uint8)
    image[gt > 0] = BLUE
    return Sample(image, gt > 0, np.zeros((100, 120), bool))


def _write_disk_set(root, n: int = 4) -> None:
    """`n` copies of the blue-disk donor as an images/ + masks/ folder under `root`."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        donor = _donor()
        mask = donor.gt.astype(np.uint8) * 255
        cv2.imwrite(str(root / "images" / f"{i}.png"), donor.image)
        cv2.imwrite(str(root / "masks" / f"{i}.png"), mask)


def _paste(target_pasted: bool, seed: int = 0, **kw) -> tuple[Sample, Sample]:
    cfg = PasteConfig(prob=1.0, target_pasted_prob=1.0 if target_pasted else 0.0, feather_px=0.0, **kw)
    base = _base()
    return base, paste_object(base, _donor(), cfg, np.random.default_rng(seed))


def test_cut_object_is_the_donor_bounding_box():
    image, mask = cut_object(_donor(), np.random.default_rng(0))
    assert mask.shape == (61, 61) and image.shape == (61, 61, 3)
    assert mask[30, 30] and not mask[0, 0]
    assert (image[mask] == BLUE).all()
    assert cut_object(Sample(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), bool), np.zeros((8, 8), bool)),
                      np.random.default_rng(0)) is None


@pytest.mark.parametrize("seed", range(4))
def test_pasted_object_as_target(seed):
    base, out = _paste(True, seed)
    assert out.gt.sum() > 0.01 * out.gt.size
    assert out.composite and not base.composite   # the flag the distillation term leaves composites out by
    inner = cv2.erode(out.gt.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0   # away from the resized rim
    assert inner.any() and (out.image[inner] == BLUE).all()   # the target is the pasted disk...
    ys, xs = np.nonzero(out.gt)
    box_area = (np.ptp(ys) + 1) * (np.ptp(xs) + 1)
    assert out.gt.sum() == pytest.approx(np.pi / 4 * box_area, rel=0.1)   # ...and a disk, not the square
    assert not out.ignore.any()
    outside = ~out.gt
    assert (out.image[outside] == base.image[outside]).all()   # nothing else changed
    assert base.image[30, 30].tolist() == list(RED)            # the base sample was not modified in place


@pytest.mark.parametrize("seed", range(4))
def test_occluded_base_object_as_target(seed):
    base, out = _paste(False, seed)
    pasted = (out.image != base.image).any(axis=-1)
    if out is base:          # the occluder hid almost all of the square: the plain crop is kept
        assert (base.gt & ~pasted).sum() < 0.01 * base.gt.size or not pasted.any()
        assert not out.composite
        return
    assert pasted.any() and out.composite
    assert (out.gt == (base.gt & ~pasted)).all()
    assert (out.ignore == (base.ignore & ~pasted)).all()


def test_pasted_object_fits_the_crop_and_respects_the_scale_range():
    for seed in range(20):
        _, out = _paste(True, seed, scale_range=(0.2, 0.4))
        ys, xs = np.nonzero(out.gt)
        long_side = max(np.ptp(ys), np.ptp(xs)) + 1
        assert 0.2 * 96 - 2 <= long_side <= 0.4 * 96 + 2
    _, big = _paste(True, 0, scale_range=(3.0, 3.0))   # asked larger than the crop: shrunk to fit
    assert big.gt.shape == (96, 96) and big.gt.any()


def test_too_small_target_or_empty_donor_keeps_the_plain_crop():
    base = _base()
    empty = Sample(np.zeros((50, 50, 3), np.uint8), np.zeros((50, 50), bool), np.zeros((50, 50), bool))
    assert paste_object(base, empty, PasteConfig(prob=1.0), np.random.default_rng(0)) is base
    tiny = PasteConfig(prob=1.0, target_pasted_prob=1.0, scale_range=(0.05, 0.05), min_object_fraction=0.05)
    assert paste_object(base, _donor(), tiny, np.random.default_rng(0)) is base


def test_feathered_edge_blends_only_inside_the_object():
    base = _base()
    cfg = PasteConfig(prob=1.0, target_pasted_prob=1.0, feather_px=1.5)
    out = paste_object(base, _donor(), cfg, np.random.default_rng(1))
    outside = ~out.gt
    assert (out.image[outside] == base.image[outside]).all()
    inner = cv2.erode(out.gt.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert (out.image[inner] == BLUE).all()
    edge = out.gt & ~inner
    assert not (out.image[edge] == BLUE).all(axis=-1).all()   # the rim mixes with what lies under it


def test_dataset_pastes_at_the_configured_rate(tmp_path):
    _write_disk_set(tmp_path)
    from inference.training.data import list_pairs
    pairs = list_pairs(tmp_path)
    augment = AugmentConfig(crop=(64, 64), colour_prob=0.0, scale_range=(1.0, 1.0), flip_prob=0.0)
    plain = PairDataset(pairs, augment)
    pasting = PairDataset(pairs, augment, PasteConfig(prob=1.0, target_pasted_prob=1.0))
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    plain_samples = [plain.get(0, rng_a) for _ in range(12)]
    pasted_samples = [pasting.get(0, rng_b) for _ in range(12)]
    assert not any(s.composite for s in plain_samples) and all(s.composite for s in pasted_samples)
    areas_plain = [s.gt.sum() for s in plain_samples]
    areas_pasted = [s.gt.sum() for s in pasted_samples]
    # every plain crop holds the whole disk at one scale; pasted targets are copies at 0.3–0.8 of the crop
    assert len(set(areas_plain)) == 1
    assert len(set(areas_pasted)) > 6
    disk = np.pi / 4 * 64 ** 2
    assert all(0.3 ** 2 * disk * 0.85 <= a <= 0.8 ** 2 * disk * 1.15 for a in areas_pasted)


def _solid_donor(colour: tuple[int, int, int]) -> Sample:
    """A solid square object of `colour` filling a 40 × 40 donor."""
    image = np.zeros((40, 40, 3), np.uint8)
    image[:] = colour
    return Sample(image, np.ones((40, 40), bool), np.zeros((40, 40), bool))


@pytest.mark.parametrize("seed", range(6))
def test_several_pasted_objects_later_ones_hide_earlier_ones(seed):
    green = (30, 200, 40)
    donors = [_solid_donor(BLUE), _solid_donor(green)]
    base = _base()
    plain = PasteConfig(prob=1.0, feather_px=0.0, min_object_fraction=0.0, max_objects=2)
    as_base = paste_objects(base, donors, replace(plain, target_pasted_prob=0.0),
                            np.random.default_rng(seed))
    as_pasted = paste_objects(base, donors, replace(plain, target_pasted_prob=1.0),
                              np.random.default_rng(seed))
    # the same seed places both objects identically in both calls (the target is chosen afterwards)
    assert np.array_equal(as_base.image, as_pasted.image)
    blue = (as_base.image == BLUE).all(axis=-1)
    greenish = (as_base.image == green).all(axis=-1)
    assert greenish.any()
    # base target: the red square minus both objects; its ignore band loses the covered pixels too
    assert np.array_equal(as_base.gt, base.gt & ~blue & ~greenish)
    assert not (as_base.ignore & (blue | greenish)).any()
    # pasted target: exactly the visible part of one object (the green one is on top, never hidden)
    assert np.array_equal(as_pasted.gt, blue) or np.array_equal(as_pasted.gt, greenish)
    assert not as_pasted.ignore.any()


def test_pasted_targets_cover_every_object_and_donors_without_object_are_skipped():
    donors = [_solid_donor(BLUE), Sample(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), bool),
                                         np.zeros((8, 8), bool)), _solid_donor((30, 200, 40))]
    cfg = PasteConfig(prob=1.0, feather_px=0.0, min_object_fraction=0.0, target_pasted_prob=1.0, max_objects=3)
    colours = set()
    for seed in range(40):
        out = paste_objects(_base(), donors, cfg, np.random.default_rng(seed))
        colours.add(tuple(int(c) for c in out.image[out.gt][0]))
    assert colours == {BLUE, (30, 200, 40)}
    base = _base()
    assert paste_objects(base, donors[1:2], cfg, np.random.default_rng(0)) is base   # nothing to paste


def test_max_objects_must_be_positive():
    with pytest.raises(ValueError, match="max_objects"):
        PasteConfig(max_objects=0)


def test_dataset_draws_one_to_max_objects_donors(tmp_path, monkeypatch):
    _write_disk_set(tmp_path)
    from inference.training import data
    pairs = data.list_pairs(tmp_path)
    augment = AugmentConfig(crop=(64, 64), colour_prob=0.0, scale_range=(1.0, 1.0), flip_prob=0.0)
    donor_counts: list[int] = []
    real_paste = data.paste_objects

    def counting_paste(base, donors, cfg, rng):
        donor_counts.append(len(donors))
        return real_paste(base, donors, cfg, rng)

    monkeypatch.setattr(data, "paste_objects", counting_paste)
    dataset = PairDataset(pairs, augment, PasteConfig(prob=1.0, max_objects=3))
    rng = np.random.default_rng(3)
    for _ in range(30):
        assert dataset.get(0, rng).gt.any()
    assert set(donor_counts) == {1, 2, 3}


def test_paste_is_off_unless_a_config_asks_for_it():
    assert get_config("finetune-cpu-paste").paste.prob == pytest.approx(0.4)
    assert get_config("gpu").paste.prob == 0.0 and get_config("gpu-continue").paste.prob == 0.0


def test_cli_paste_prob_reaches_the_run_config(tmp_path):
    from inference.train import main
    root = tmp_path / "set"
    _write_disk_set(root)
    out = tmp_path / "run"
    assert main(["--config", "tiny", "--data", str(root), "--out", str(out), "--steps", "1",
                 "--paste-prob", "0.5"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["paste"]["prob"] == 0.5
    assert saved["paste"]["scale_range"] == list(PasteConfig().scale_range)


def test_composite_validation_set_and_rescoring_scripts(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import torch

    from inference.networks.registry import build
    from inference.training.checkpoint import model_payload
    from inference.training.data import list_pairs, load_sample

    repo = Path(__file__).resolve().parents[2]
    src, out = tmp_path / "src", tmp_path / "paste"
    _write_disk_set(src)
    run = subprocess.run([sys.executable, "scripts/training/make_composite_val.py", "--src", str(src), "--out", str(out),
                          "--long-side", "80"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    pairs = list_pairs(out)
    assert len(pairs) == 4
    targets = json.loads((out / "targets.json").read_text())
    assert set(targets) == {image_path.stem for image_path, _ in pairs}
    assert set(targets.values()) <= {"base", "pasted"}
    for image_path, mask_path in pairs:
        sample = load_sample(image_path, mask_path)
        assert max(sample.gt.shape) == 80 and sample.gt.any()
        assert set(np.unique(cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE))) <= {0, 128, 255}

    params = {"output_stride": 16, "aspp_ch": 16, "skip_ch": 8, "head_ch": 16}
    torch.manual_seed(0)
    ckpt = tmp_path / "net.pth"
    torch.save(model_payload(build("mobilenetv2_deeplabv3p", **params), "mobilenetv2_deeplabv3p", params, {}), ckpt)
    scores = tmp_path / "scores.json"
    run = subprocess.run([sys.executable, "scripts/training/rescore_val.py", "--model", str(ckpt), "--model", str(ckpt),
                          "--data", str(out), "--long-side", "64", "--threads", "1", "--out", str(scores)],
                         cwd=repo, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    saved = json.loads(scores.read_text())
    assert [entry["model"] for entry in saved] == [str(ckpt), str(ckpt)]
    per_image = saved[1]["scores"][str(out)]
    assert len(per_image["noc90"]) == 4 and all(1 <= v <= 20 for v in per_image["noc90"])
    assert "paired ΔNoC@90 +0.00 ± 0.00" in run.stdout   # a model against itself


def test_composite_records_which_object_its_target_is():
    cfg = PasteConfig(prob=1.0, feather_px=0.0)   # hard edges: a target is red (base) or blue (pasted) inside
    base, donor = _base(), _donor()
    kinds = set()
    for seed in range(12):
        result = paste_object(base, donor, cfg, np.random.default_rng(seed))
        if result is base:
            continue
        inner = cv2.erode(result.gt.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0   # off the resized rim
        colours = {tuple(int(v) for v in c) for c in result.image[inner]}
        expected = "base" if colours == {RED} else "pasted" if colours == {BLUE} else None
        assert expected is not None
        assert result.target_kind == expected
        kinds.add(expected)
    assert kinds == {"base", "pasted"}
