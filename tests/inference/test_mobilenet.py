"""The MobileNetV2 DeepLabV3+ click network: ImageNet weights, shapes, click disks, insertion points."""
from __future__ import annotations

import pytest
import torch

from inference.networks.mobilenet import (
    INSERTION_POINTS, REGISTRY_NAME, MobileNetV2DeepLabClickNet, default_aspp_rates,
)
from inference.networks.mobilenet_parts import click_disks
from inference.networks.mobilenet_v2 import MobileNetV2Backbone, imagenet_weights_path, load_imagenet_weights
from inference.networks.registry import build

SMALL = {"aspp_ch": 16, "skip_ch": 8, "head_ch": 16}


def _net(**kw) -> MobileNetV2DeepLabClickNet:
    torch.manual_seed(0)
    return MobileNetV2DeepLabClickNet(**{**SMALL, **kw}).eval()


def _points() -> torch.Tensor:
    # one positive at (y=20, x=30), one negative at (y=40, x=10), padding rows
    return torch.tensor([[[20.0, 30.0, 0.0], [-1, -1, -1], [40.0, 10.0, 1.0], [-1, -1, -1]]])


def test_imagenet_weights_load_into_backbone():
    backbone = MobileNetV2Backbone(output_stride=16)
    ignored = load_imagenet_weights(backbone)
    assert ignored and all(k.startswith(("features.18", "classifier")) for k in ignored)
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    own = backbone.state_dict()
    for key in ("features.0.0.weight", "features.7.conv.1.0.weight", "features.17.conv.3.running_var"):
        assert torch.equal(own[key], state[key])


def test_imagenet_backbone_separates_images_from_noise():
    """Pretrained features respond to structure: a smooth image and white noise give different statistics."""
    backbone = MobileNetV2Backbone(output_stride=32).eval()
    load_imagenet_weights(backbone)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 96), torch.linspace(-1, 1, 96), indexing="ij")
    disk = ((xx ** 2 + yy ** 2) < 0.3).float()
    smooth = torch.stack([disk, disk * 0.5, 1 - disk]).unsqueeze(0)
    with torch.no_grad():
        low, high = backbone(smooth)
    assert low.shape == (1, 24, 24, 24) and high.shape == (1, 320, 3, 3)
    assert torch.isfinite(high).all()


@pytest.mark.parametrize("output_stride", [16, 8])
def test_shapes_and_output_stride(output_stride):
    net = _net(output_stride=output_stride)
    image = torch.rand(1, 4, 64, 96)
    with torch.no_grad():
        out = net(image, _points())
        rgb, prev = net.prepare_input(image)
        coord = net.get_coord_features(rgb, prev, _points())
        c4, low = net.forward_to_insertion("after_c4", rgb, coord)
        raw = net.backbone_forward(rgb, coord)["instances"]
    assert out["instances"].shape == (1, 1, 64, 96)
    assert coord.shape == (1, 3, 64, 96)
    assert c4.shape == (1, 320, 64 // output_stride, 96 // output_stride)
    assert low.shape == (1, 24, 16, 24)
    assert raw.shape == (1, 1, 16, 24)


def _aspp_dilations(net: MobileNetV2DeepLabClickNet) -> list[int]:
    return [m.dilation[0] for m in net.aspp.modules() if isinstance(m, torch.nn.Conv2d) and m.dilation[0] > 1]


def test_aspp_rates_follow_the_output_stride():
    assert default_aspp_rates(16) == (6, 12, 18)
    assert default_aspp_rates(8) == (12, 24, 36)
    assert default_aspp_rates(32) == (3, 6, 9)
    assert _aspp_dilations(_net(output_stride=16)) == [6, 12, 18]
    assert _aspp_dilations(_net(output_stride=8)) == [12, 24, 36]
    assert _aspp_dilations(_net(output_stride=8, aspp_rates=(2, 3, 4))) == [2, 3, 4]
    with pytest.raises(ValueError, match="output_stride"):
        default_aspp_rates(4)


def test_weights_trained_at_stride_16_run_at_stride_8():
    """The shipped weights (trained at stride 16) load strictly into the stride-8 network (only strides
    and dilations change) and still segment a clicked disk; the stride-8 map is a different computation."""
    from inference.model_zoo import resolve
    from inference.networks.checkpoints import load_checkpoint

    checkpoint = torch.load(resolve("default"), map_location="cpu", weights_only=False)
    at_stride_8 = {**checkpoint, "config": {**checkpoint["config"], "params": {"output_stride": 8}}}
    net16, net8 = load_checkpoint(checkpoint).float(), load_checkpoint(at_stride_8).float()
    assert net8.backbone.output_stride == 8 and _aspp_dilations(net8) == [12, 24, 36]
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 96), torch.linspace(-1, 1, 128), indexing="ij")
    disk = ((xx ** 2 + yy ** 2) < 0.3).float()
    image = torch.stack([disk * 0.9 + 0.05, disk * 0.3 + 0.3, 1 - disk * 0.8, torch.zeros_like(disk)]).unsqueeze(0)
    centre_click = torch.tensor([[[48.0, 64.0, 0.0], [-1, -1, -1]]])   # rows (y, x, index)
    with torch.no_grad():
        logits = [net(image, centre_click)["instances"] for net in (net16, net8)]
    for out in logits:
        mask = out[0, 0] > 0
        iou = (mask & (disk > 0)).sum() / (mask | (disk > 0)).sum()
        assert out.shape == (1, 1, 96, 128) and iou > 0.9
    assert not torch.allclose(logits[0], logits[1], atol=1e-3)


def test_insertion_point_round_trip_and_channels():
    net = _net()
    rgb, prev = net.prepare_input(torch.rand(2, 4, 64, 64))
    coord = net.get_coord_features(rgb, prev, _points().repeat(2, 1, 1))
    with torch.no_grad():
        reference = net.backbone_forward(rgb, coord)["instances"]
        for point in INSERTION_POINTS:
            feats, extras = net.forward_to_insertion(point, rgb, coord)
            assert feats.shape[1] == net.insertion_channels(point)
            torch.testing.assert_close(net.forward_from_insertion(point, feats, extras), reference)
    assert set(net.brs_insertion_points.values()) == set(INSERTION_POINTS)


@pytest.mark.parametrize("point", INSERTION_POINTS)
def test_fbrs_scale_bias_receives_gradient(point):
    net = _net()
    rgb, prev = net.prepare_input(torch.rand(1, 4, 64, 64))
    coord = net.get_coord_features(rgb, prev, _points())
    with torch.no_grad():
        feats, extras = net.forward_to_insertion(point, rgb, coord)
    channels = net.insertion_channels(point)
    var = torch.zeros(2 * channels, requires_grad=True)
    scale, bias = var[:channels].view(1, -1, 1, 1), var[channels:].view(1, -1, 1, 1)
    logits = net.forward_from_insertion(point, feats * (1 + scale) + bias, extras)
    logits.sigmoid().mean().backward()
    assert var.grad is not None and var.grad.abs().sum() > 0


def test_input_gradient_reaches_image_and_click_maps():
    """RGB-BRS and DistMap-BRS optimise additive biases on the normalised image and the disk channels."""
    net = _net()
    rgb, prev = net.prepare_input(torch.rand(1, 4, 64, 64))
    coord = net.get_coord_features(rgb, prev, _points())
    rgb = rgb.clone().requires_grad_(True)
    coord = coord.clone().requires_grad_(True)
    net.backbone_forward(rgb, coord)["instances"].mean().backward()
    assert rgb.grad.abs().sum() > 0 and coord.grad[:, 1:].abs().sum() > 0


def test_click_disks_radius_polarity_and_padding():
    disks = click_disks(_points(), 64, 64, radius=5)
    assert disks.shape == (1, 2, 64, 64)
    assert disks[0, 0].sum() == 81  # integer lattice points with x² + y² ≤ 25
    assert disks[0, 0, 20, 30] == 1 and disks[0, 0, 20, 36] == 0 and disks[0, 0, 25, 30] == 1
    assert disks[0, 1, 40, 10] == 1 and disks[0, 1, 20, 30] == 0
    empty = click_disks(torch.full((1, 2, 3), -1.0), 16, 16)
    assert empty.sum() == 0


def _disks_by_broadcast(points: torch.Tensor, height: int, width: int, radius: float) -> torch.Tensor:
    """RITM's disk test over the whole map for every click slot at once (small sizes only)."""
    half = points.shape[1] // 2
    ys = torch.arange(height, dtype=torch.float32).view(1, 1, height, 1)
    xs = torch.arange(width, dtype=torch.float32).view(1, 1, 1, width)
    maps = []
    for group in (points[:, :half, :2].float(), points[:, half:, :2].float()):
        py, px = group[..., 0, None, None], group[..., 1, None, None]
        hit = ((ys - py) ** 2 + (xs - px) ** 2 <= float(radius) ** 2) & (py >= 0) & (px >= 0)
        maps.append(hit.any(dim=1).float())
    return torch.stack(maps, dim=1)


def test_click_disks_match_the_full_map_test_for_any_points():
    gen = torch.Generator().manual_seed(0)
    for trial in range(200):
        batch, slots = int(torch.randint(1, 4, (1,), generator=gen)), int(torch.randint(1, 8, (1,), generator=gen))
        height, width = (int(v) for v in torch.randint(5, 60, (2,), generator=gen))
        # centres up to 6 px outside the map (partial disks), fractional (ZoomIn) or whole, some padding rows
        points = torch.rand(batch, 2 * slots, 3, generator=gen) * torch.tensor([height + 12.0, width + 12.0, 1.0]) - 6
        if trial % 2:
            points[..., :2] = points[..., :2].round()
        radius = (5.0, 3.0, 2.5, 1.0, 0.0, 7.3)[trial % 6]
        expected = _disks_by_broadcast(points, height, width, radius)
        assert torch.equal(click_disks(points, height, width, radius), expected), trial


def test_bad_inputs_raise():
    net = _net()
    with pytest.raises(ValueError, match="expected image"):
        net.prepare_input(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="insertion point"):
        net.insertion_channels("after_everything")
    with pytest.raises(ValueError):
        click_disks(torch.zeros(1, 3, 3), 8, 8)
    with pytest.raises(ValueError):
        MobileNetV2Backbone(output_stride=4)


def test_registry_builds_and_prev_mask_changes_output():
    net = build(REGISTRY_NAME, **SMALL).eval()
    assert isinstance(net, MobileNetV2DeepLabClickNet) and net.family == "ritm" and net.with_prev_mask
    image = torch.rand(1, 4, 64, 64)
    other = image.clone()
    other[:, 3] = 1.0
    with torch.no_grad():
        a = net(image, _points())["instances"]
        b = net(other, _points())["instances"]
    assert not torch.allclose(a, b)
    no_prev = build(REGISTRY_NAME, with_prev_mask=False, **SMALL).eval()
    assert no_prev(torch.rand(1, 3, 32, 32), _points())["instances"].shape == (1, 1, 32, 32)
