"""Parity of one raw network forward with the official implementations (fixtures net_forward.npz).

RITM HRNet18s ITER-M (official checkpoint format) and the f-BRS ResNet-34 DeepLab (raw state_dict rebuilt by
the fixture's own build_checkpoint.py).

What is exact and what is not (torch 2.13.0+cpu; reproduce with
``PYTHONPATH=. .venv/bin/python tests/inference/test_parity_net_forward.py``, which prints both thread counts):

* RITM click maps (prev mask + disks): bit-identical everywhere (asserted with ``np.array_equal``).
* At the reference's thread count (2, ``run_versions.json``) on an AMD EPYC (2026-11-26): **everything is
  bit-identical** — RITM logits and aux logits, f-BRS distance maps and logits. With 1 thread the same
  machine differs by 1.2e-5 (RITM) / 6.3e-5 (f-BRS): torch picks other convolution kernels for one thread
  (small-batch 1×1 convolutions take the THNN path instead of oneDNN). The fixtures were evidently made
  with such a CPU; where ``ps.reproduces_reference_arithmetic`` holds, the tests below assert bit identity.
* On an Intel Xeon (AVX-512; an earlier session) neither thread count was exact: logits ≈ 1e-5 / 4.5e-5 and
  the f-BRS distance maps 1–2 ulp off, in ``tanh`` (MKL VML chooses its code path by CPU). There the
  issue's 1e-4 bound is the fallback, and the f-BRS network alone (fed the fixture's own distance maps) is
  checked separately so that a regression in the network cannot hide behind the tanh noise.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from inference.networks.checkpoints import load_checkpoint
from tests.inference import parity_support as ps

pytestmark = pytest.mark.parity
TOL = 1e-4  # the bound, for CPUs that do not reproduce the fixture machine's arithmetic (docstring)
# f-BRS network fed the fixture's distance maps. Measured: 1.2e-5 (1 thread) / 7e-6 (2 threads) on an Intel Xeon,
# 6.3e-5 (1 thread) / 0 (2 threads) on an AMD EPYC: the bound is the 1e-4 rather than a figure fitted
# to one machine.
NET_ONLY_TOL = 1e-4
MAX_TANH_ULPS = 2  # f-BRS distance maps: MKL VML tanh differs from the fixture's by at most 2 ulp (Intel Xeon)


@pytest.fixture(autouse=True)
def _reference_threads(shared_fixtures: Path):
    previous = torch.get_num_threads()
    torch.set_num_threads(ps.reference_threads(shared_fixtures))  # decides the kernels torch picks (docstring)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def exact(shared_fixtures: Path) -> bool:
    """Whether this CPU reproduces the fixture machine's arithmetic (then bit identity is asserted)."""
    return ps.reproduces_reference_arithmetic(shared_fixtures)


@pytest.fixture(scope="module")
def fbrs_state_dict(shared_fixtures: Path) -> dict[str, torch.Tensor]:
    """The f-BRS fixture's raw state_dict, rebuilt (and checksum-verified) by its own script."""
    script = shared_fixtures / "fbrs_resnet34_dh128" / "build_checkpoint.py"
    spec = importlib.util.spec_from_file_location("fbrs_fixture_build_checkpoint", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


def _ulps(ours: torch.Tensor, ref: np.ndarray) -> int:
    """Largest distance in units in the last place between two float32 arrays of the same shape."""
    assert tuple(ours.shape) == ref.shape and ref.dtype == np.float32
    def ordered(a: np.ndarray) -> np.ndarray:  # float32 bits → integers in the order of the values
        bits = a.view(np.int32).astype(np.int64)
        return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)
    return int(np.abs(ordered(ours.detach().numpy().astype(np.float32)) - ordered(ref)).max())


def _max_diff(ours: torch.Tensor, ref: np.ndarray) -> float:
    assert tuple(ours.shape) == ref.shape
    return float((ours - torch.from_numpy(ref)).abs().max())


def test_parity_ritm_hrnet18s_itermask_net_forward(shared_fixtures: Path, exact: bool) -> None:
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
    assert np.array_equal(coord_features.numpy(), data["coord_features"])  # exact: disks involve no rounding
    assert _max_diff(outputs["instances"], data["logits_instances"]) <= TOL
    assert _max_diff(outputs["instances_aux"], data["logits_instances_aux"]) <= TOL
    if exact:
        assert np.array_equal(outputs["instances_aux"].numpy(), data["logits_instances_aux"])


def test_parity_fbrs_resnet34_net_forward(shared_fixtures: Path, fbrs_state_dict, exact: bool) -> None:
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
    assert _ulps(dist_maps, data["dist_maps"]) <= MAX_TANH_ULPS
    assert _max_diff(logits, data["logits_instances"]) <= TOL
    if exact:   # the RITM probe says this CPU computes like the fixture machine: the f-BRS network must too
        assert np.array_equal(dist_maps.numpy(), data["dist_maps"])
        assert np.array_equal(logits.numpy(), data["logits_instances"])


def test_parity_fbrs_network_alone_with_fixture_distance_maps(shared_fixtures: Path, fbrs_state_dict) -> None:
    """Fed the fixture's own distance maps, our DMF + DeepLab + head stay within NET_ONLY_TOL of the fixture."""
    data = np.load(shared_fixtures / "fbrs_resnet34_dh128" / "net_forward.npz")
    net = load_checkpoint(fbrs_state_dict)
    image = torch.from_numpy(data["input_normalized"])
    with torch.no_grad():
        logits = net.backbone_forward(image, torch.from_numpy(data["dist_maps"]))["instances"]
        logits = F.interpolate(logits, size=image.shape[2:], mode="bilinear", align_corners=True)
    assert _max_diff(logits, data["logits_instances"]) <= NET_ONLY_TOL


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


def _measure(threads: int) -> dict[str, float]:
    """max |Δ| (and ulps for the click maps) of both fixture networks at ``threads`` torch threads."""
    from types import SimpleNamespace

    from tests.conftest import FIXTURES as fixtures

    torch.set_num_threads(threads)
    spec = importlib.util.spec_from_file_location("bc", fixtures / "fbrs_resnet34_dh128" / "build_checkpoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ritm_data = np.load(fixtures / "ritm_hrnet18s_itermask" / "net_forward.npz")
    fbrs_data = np.load(fixtures / "fbrs_resnet34_dh128" / "net_forward.npz")
    ritm = load_checkpoint(fixtures / "ritm_hrnet18s_itermask" / "weights.pth")
    fbrs = load_checkpoint(module.build())
    image = torch.cat([torch.from_numpy(ritm_data["input_rgb01"]), torch.from_numpy(ritm_data["input_prev_mask"])], 1)
    fb = SimpleNamespace(image=torch.from_numpy(fbrs_data["input_normalized"]),
                         points=torch.from_numpy(fbrs_data["points"]).float())
    with torch.no_grad():
        out = ritm(image, torch.from_numpy(ritm_data["points"]).float())
        maps = fbrs.get_coord_features(fb.image, None, fb.points)
        up = lambda t: F.interpolate(t, size=fb.image.shape[2:], mode="bilinear", align_corners=True)  # noqa: E731
        logits = up(fbrs.backbone_forward(fb.image, maps)["instances"])
        net_only = up(fbrs.backbone_forward(fb.image, torch.from_numpy(fbrs_data["dist_maps"]))["instances"])
    return {
        "ritm_logits": _max_diff(out["instances"], ritm_data["logits_instances"]),
        "ritm_aux": _max_diff(out["instances_aux"], ritm_data["logits_instances_aux"]),
        "fbrs_dist_maps_ulps": float(_ulps(maps, fbrs_data["dist_maps"])),
        "fbrs_dist_maps_differing_px": float((maps.numpy() != fbrs_data["dist_maps"]).sum()),
        "fbrs_logits": _max_diff(logits, fbrs_data["logits_instances"]),
        "fbrs_logits_with_fixture_maps": _max_diff(net_only, fbrs_data["logits_instances"]),
    }


if __name__ == "__main__":
    for n_threads in (1, 2):
        print(n_threads, "thread(s):", {k: f"{v:.3g}" for k, v in _measure(n_threads).items()})
