"""Parity of one raw network forward with the official implementations (fixtures net_forward.npz).

RITM HRNet18s ITER-M (official checkpoint format) and the f-BRS ResNet-34 DeepLab (raw state_dict rebuilt by
the fixture's own build_checkpoint.py): click maps and logits must match to max |Δ| ≤ 1e-4.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from inference.networks.checkpoints import load_checkpoint

pytestmark = pytest.mark.parity
TOL = 1e-4


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 threads on the shared, loaded 2-core machine is ~40x slower (OpenMP spinning)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def fbrs_state_dict(shared_fixtures: Path) -> dict[str, torch.Tensor]:
    """The f-BRS fixture's raw state_dict, rebuilt (and checksum-verified) by its own script."""
    script = shared_fixtures / "fbrs_resnet34_dh128" / "build_checkpoint.py"
    spec = importlib.util.spec_from_file_location("fbrs_fixture_build_checkpoint", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


def _max_diff(ours: torch.Tensor, ref: np.ndarray) -> float:
    assert tuple(ours.shape) == ref.shape
    return float((ours - torch.from_numpy(ref)).abs().max())


def test_parity_ritm_hrnet18s_itermask_net_forward(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "ritm_hrnet18s_itermask"
    data = np.load(folder / "net_forward.npz")
    net = load_checkpoint(folder / "weights.pth")
    assert net.family == "ritm" and net.with_prev_mask
    image = torch.cat([torch.from_numpy(data["input_rgb01"]), torch.from_numpy(data["input_prev_mask"])], dim=1)
    points = torch.from_numpy(data["points"]).float()
    with torch.no_grad():
        normalised, prev_mask = net.prepare_input(image)
        coord_features = net.get_coord_features(normalised, prev_mask, points)
        outputs = net(image, points)
    assert _max_diff(coord_features, data["coord_features"]) == 0.0
    assert _max_diff(outputs["instances"], data["logits_instances"]) <= TOL
    assert _max_diff(outputs["instances_aux"], data["logits_instances_aux"]) <= TOL


def test_parity_fbrs_resnet34_net_forward(shared_fixtures: Path, fbrs_state_dict) -> None:
    folder = shared_fixtures / "fbrs_resnet34_dh128"
    data = np.load(folder / "net_forward.npz")
    net = load_checkpoint(fbrs_state_dict)
    assert net.family == "fbrs"
    assert net.config()["params"]["backbone"] == "resnet34"
    image = torch.from_numpy(data["input_normalized"])
    points = torch.from_numpy(data["points"]).float()
    with torch.no_grad():
        dist_maps = net.get_coord_features(image, None, points)
        logits = net.backbone_forward(image, dist_maps)["instances"]
        logits = F.interpolate(logits, size=image.shape[2:], mode="bilinear", align_corners=True)
    assert _max_diff(dist_maps, data["dist_maps"]) <= 1e-6
    assert _max_diff(logits, data["logits_instances"]) <= TOL


def test_parity_fbrs_prepare_input_matches_reference_normalisation(shared_fixtures: Path, fbrs_state_dict) -> None:
    """Our prepare_input on the fixture image (RGB / 255) gives the fixture's normalised input exactly."""
    from PIL import Image

    folder = shared_fixtures / "fbrs_resnet34_dh128"
    data = np.load(folder / "net_forward.npz")
    rgb = np.array(Image.open(shared_fixtures / "ritm_hrnet18s_itermask" / "image.png").convert("RGB"))
    image01 = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0
    net = load_checkpoint(fbrs_state_dict)
    normalised, prev = net.prepare_input(image01)
    assert prev is None
    assert _max_diff(normalised, data["input_normalized"]) <= 1e-6


def test_parity_insertion_points_with_fixture_weights(shared_fixtures: Path, fbrs_state_dict) -> None:
    """With the fixture weights, every insertion point's front + tail reproduces the fixture logits."""
    ritm_data = np.load(shared_fixtures / "ritm_hrnet18s_itermask" / "net_forward.npz")
    fbrs_data = np.load(shared_fixtures / "fbrs_resnet34_dh128" / "net_forward.npz")
    ritm = load_checkpoint(shared_fixtures / "ritm_hrnet18s_itermask" / "weights.pth")
    fbrs = load_checkpoint(fbrs_state_dict)
    ritm_image = torch.cat([torch.from_numpy(ritm_data["input_rgb01"]),
                            torch.from_numpy(ritm_data["input_prev_mask"])], dim=1)
    cases = [
        (ritm, *ritm.prepare_input(ritm_image), torch.from_numpy(ritm_data["points"]).float(),
         ritm_data["logits_instances"], {"A": 270, "C": 96}),
        (fbrs, torch.from_numpy(fbrs_data["input_normalized"]), None, torch.from_numpy(fbrs_data["points"]).float(),
         fbrs_data["logits_instances"], {"after_c4": 512, "after_aspp": 160, "after_deeplab": 128}),
    ]
    for net, image, prev_mask, points, expected, channels in cases:
        with torch.no_grad():
            coord_features = net.get_coord_features(image, prev_mask, points)
            for point, n_channels in channels.items():
                features, extras = net.forward_to_insertion(point, image, coord_features)
                assert features.shape[1] == n_channels == net.insertion_channels(point)
                logits = net.forward_from_insertion(point, features, extras)
                logits = F.interpolate(logits, size=image.shape[2:], mode="bilinear", align_corners=True)
                assert _max_diff(logits, expected) <= TOL, point
