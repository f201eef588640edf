"""The shipped default weights (`inference/weights/clicklabel_default.pth`): format, size, and that one
click on a plain salient object segments it."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inference.model_zoo import load_model
from inference.networks.mobilenet import REGISTRY_NAME, MobileNetV2DeepLabClickNet
from inference.training.validation import click_ious
from inference.training.data import Sample

WEIGHTS = Path(__file__).resolve().parents[2] / "inference" / "weights" / "clicklabel_default.pth"


def test_shipped_file_format_and_size():
    assert WEIGHTS.is_file(), "the default model must be shipped"
    assert WEIGHTS.stat().st_size <= 25 * 1024 * 1024
    payload = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert payload["config"]["class"] == REGISTRY_NAME
    assert payload["meta"]["validation"]["noc90"] <= 20
    assert all(v.dtype == torch.float16 for v in payload["state_dict"].values() if v.is_floating_point())


def test_default_model_segments_a_plain_object_from_one_click():
    torch.manual_seed(0)
    model = load_model("default", device="cpu")
    assert isinstance(model.net, MobileNetV2DeepLabClickNet)
    rng = np.random.default_rng(0)
    image = np.full((160, 200, 3), 150, np.uint8) + rng.integers(0, 20, (160, 200, 3), dtype=np.uint8)
    gt = np.zeros((160, 200), np.uint8)
    cv2.ellipse(gt, (100, 80), (45, 35), 0, 0, 360, 1, -1)
    image[gt > 0] = (200, 30, 30)
    ious = click_ious(model.net, Sample(image, gt > 0, np.zeros_like(gt, bool)), max_clicks=3, stop_iou=1.1)
    assert ious[0] > 0.6
    assert max(ious) > 0.75
