"""Data set loaders: folder (GrabCut/Berkeley layout), SBD .mat, VOC palette PNGs; layout detection."""
from __future__ import annotations

import numpy as np
import pytest
import cv2
from PIL import Image

from inference.evaluation.datasets import DatasetError, loader_names, open_dataset


def make_folder(root, n=2, h=20, w=30, ext=".png"):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        bgr = np.zeros((h, w, 3), np.uint8)
        bgr[..., 0] = 10 + i  # blue channel on disk
        bgr[..., 2] = 200     # red channel on disk
        cv2.imwrite(str(root / "images" / f"s{i}{ext}"), bgr)
        mask = np.zeros((h, w), np.uint8)
        mask[5:15, 5:20] = 255
        mask[4, 5:20] = 128
        cv2.imwrite(str(root / "masks" / f"s{i}.png"), mask)
    return root


def test_folder_layout_decodes_rgb_object_and_ignore(tmp_path):
    ds = open_dataset(make_folder(tmp_path / "Tiny"))
    assert ds.name == "Tiny" and len(ds) == 2 and ds.ids == ["s0", "s1"]
    s = ds[1]
    assert s.image.shape == (20, 30, 3) and s.image.dtype == np.uint8
    assert s.image[0, 0].tolist() == [200, 0, 11]  # RGB order
    assert s.gt.sum() == 150 and s.ignore.sum() == 15 and not (s.gt & s.ignore).any()


def test_folder_layout_errors(tmp_path):
    root = make_folder(tmp_path / "A")
    (root / "images" / "s1.png").unlink()
    with pytest.raises(DatasetError, match="without an image"):
        open_dataset(root)

    root = make_folder(tmp_path / "B")
    cv2.imwrite(str(root / "masks" / "s0.png"), np.zeros((20, 30), np.uint8))
    with pytest.raises(DatasetError, match="no object pixels"):
        open_dataset(root)[0]

    root = make_folder(tmp_path / "C")
    cv2.imwrite(str(root / "masks" / "s0.png"), np.full((21, 30), 255, np.uint8))
    with pytest.raises(DatasetError, match="differ in size"):
        open_dataset(root)[0]

    with pytest.raises(DatasetError, match="not found"):
        open_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no known layout"):
        open_dataset(tmp_path / "empty")
    with pytest.raises(DatasetError, match="unknown data set kind"):
        open_dataset(root, kind="nope")


def test_sbd_layout_one_sample_per_instance(tmp_path):
    from scipy.io import savemat
    root = tmp_path / "SBD"
    (root / "img").mkdir(parents=True)
    (root / "inst").mkdir()
    inst = np.zeros((12, 16), np.uint8)
    inst[1:5, 1:5] = 1
    inst[6:10, 8:14] = 2
    savemat(root / "inst" / "a.mat", {"GTinst": {"Segmentation": inst}})
    cv2.imwrite(str(root / "img" / "a.jpg"), np.zeros((12, 16, 3), np.uint8))
    (root / "val.txt").write_text("a\n")
    ds = open_dataset(root)
    assert ds.ids == ["a#1", "a#2"]
    assert ds[1].gt.sum() == 24 and not ds[1].ignore.any()


def test_voc_layout_void_is_ignored(tmp_path):
    root = tmp_path / "VOC"
    for sub in ("JPEGImages", "SegmentationObject", "ImageSets/Segmentation"):
        (root / sub).mkdir(parents=True)
    idx = np.zeros((10, 10), np.uint8)
    idx[2:5, 2:5] = 1
    idx[1, 2:5] = 255
    idx[6:9, 6:9] = 2
    img = Image.fromarray(idx, mode="P")
    img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (253 * 3 - 9) + [224, 224, 192] * 3)
    img.save(root / "SegmentationObject" / "x.png")
    cv2.imwrite(str(root / "JPEGImages" / "x.jpg"), np.zeros((10, 10, 3), np.uint8))
    (root / "ImageSets/Segmentation/val.txt").write_text("x\n")
    ds = open_dataset(root)
    assert ds.ids == ["x#1", "x#2"]
    assert ds[0].gt.sum() == 9 and ds[0].ignore.sum() == 3


def test_registry_lists_layouts():
    assert loader_names()[:3] == ["folder", "sbd", "voc"]


def test_real_grabcut_set_loads(shared_fixtures):
    from tests.conftest import DATASETS
    if not (DATASETS / "GrabCut").is_dir():
        pytest.skip("GrabCut not available")
    ds = open_dataset(DATASETS / "GrabCut")
    assert len(ds) == 50
    s = ds[0]
    assert s.gt.shape == s.image.shape[:2] and s.gt.any()
