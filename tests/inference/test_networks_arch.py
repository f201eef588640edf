"""Architectures: official key layouts / sizes, forward shapes, f-BRS insertion points, config round trip."""
from __future__ import annotations

import pytest
import torch

from inference.networks import registry
from inference.networks.base import ClickNetwork
from inference.networks.ops import ScaleLayer

RITM_RELEASED = dict(use_rgb_conv=False, use_disks=True, norm_radius=5, use_leaky_relu=True, with_aux_output=True)


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 threads on the shared, loaded 2-core machine is ~40x slower (OpenMP spinning)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("name, params, n_keys, total_millions", [
    # key counts and sizes of the official checkpoints (BRS_FBRS_SPEC §1.4)
    ("fbrs_deeplab", dict(backbone="resnet34", deeplab_ch=128, aspp_dropout=0.2), 299, None),
    ("fbrs_deeplab", dict(backbone="resnet50", deeplab_ch=128, aspp_dropout=0.2), 413, None),
    ("fbrs_deeplab", dict(backbone="resnet101", deeplab_ch=256, aspp_dropout=0.5), 719, None),
    ("fbrs_hrnet", dict(width=18, ocr_width=64, with_aux_output=True), 1899, None),
    ("ritm_hrnet", dict(width=18, ocr_width=48, small=True, with_prev_mask=True, **RITM_RELEASED), 929, 4.24),
    ("ritm_hrnet", dict(width=18, ocr_width=64, with_prev_mask=True, **RITM_RELEASED), 1895, 10.07),
    ("ritm_hrnet", dict(width=32, ocr_width=128, with_prev_mask=True, **RITM_RELEASED), 1895, 31.0),
    ("ritm_deeplab", dict(backbone="resnet34", deeplab_ch=128, aspp_dropout=0.2, use_rgb_conv=False,
                          use_disks=True, norm_radius=5), 295, 23.4),
])
def test_official_key_counts_and_sizes(name: str, params: dict, n_keys: int, total_millions: float | None) -> None:
    state = registry.build(name, **params).state_dict()
    assert len(state) == n_keys
    if total_millions is not None:
        total = sum(t.numel() for t in state.values()) / 1e6
        assert round(total, 2 if total < 20 else 1) == total_millions


def test_fbrs_deeplab_backbone_key_counts_used_for_detection() -> None:
    counts = {}
    for backbone in ("resnet34", "resnet50", "resnet101"):
        state = registry.build("fbrs_deeplab", backbone=backbone, deeplab_ch=128).state_dict()
        counts[backbone] = sum("feature_extractor.backbone" in k and not k.endswith("num_batches_tracked")
                               for k in state)
    assert counts == {"resnet34": 180, "resnet50": 275, "resnet101": 530}


# small-but-real configurations used for the behavioural tests below
NETS = {
    "ritm_hrnet18s_itermask": ("ritm_hrnet", dict(width=18, ocr_width=48, small=True, with_prev_mask=True,
                                                  **RITM_RELEASED)),
    "ritm_hrnet_noocr": ("ritm_hrnet", dict(width=18, ocr_width=0, small=True, **RITM_RELEASED)),
    "fbrs_hrnet18s_ocr64": ("fbrs_hrnet", dict(width=18, ocr_width=64, small=True, with_aux_output=True)),
    "fbrs_deeplab_r34": ("fbrs_deeplab", dict(backbone="resnet34", deeplab_ch=128, aspp_dropout=0.2)),
    "fbrs_deeplab_r50": ("fbrs_deeplab", dict(backbone="resnet50", deeplab_ch=128, aspp_dropout=0.2)),
    "ritm_deeplab_r34": ("ritm_deeplab", dict(backbone="resnet34", deeplab_ch=128, aspp_dropout=0.2,
                                              use_rgb_conv=False, use_disks=True, norm_radius=5,
                                              with_prev_mask=True)),
    # deep stem: the 64-ch Conv1S output is zero-padded to the 128-ch stem
    "ritm_deeplab_r50": ("ritm_deeplab", dict(backbone="resnet50", deeplab_ch=64, use_rgb_conv=False,
                                              use_disks=True, norm_radius=5)),
    "ritm_hrnet_rgbconv": ("ritm_hrnet", dict(width=18, ocr_width=48, small=True, with_prev_mask=True,
                                              use_rgb_conv=True, use_leaky_relu=False)),
    "ritm_hrnet_conv_extend": ("ritm_hrnet", dict(width=18, ocr_width=48, small=True, use_rgb_conv=False,
                                                  conv_extend=True)),
}


def _randomise_bn(net: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial BatchNorm statistics/affine so that eval-mode outputs exercise every layer; Conv1S scale 1."""
    gen = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(0.1 * torch.randn(n, generator=gen))
            module.running_var.copy_(0.5 + torch.rand(n, generator=gen))
            module.weight.data.copy_(0.5 + torch.rand(n, generator=gen))
            module.bias.data.copy_(0.1 * torch.randn(n, generator=gen))
        elif isinstance(module, ScaleLayer):
            module.scale.data.fill_(1.0)  # as after training: the init value 0.05 hides the clicks in deep nets


def _make(key: str) -> ClickNetwork:
    torch.manual_seed(0)
    name, params = NETS[key]
    net = registry.build(name, **params)
    _randomise_bn(net)
    return net.eval()


def _inputs(net: ClickNetwork, h: int = 64, w: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    channels = 4 if net.with_prev_mask else 3
    image = torch.rand(2, channels, h, w, generator=gen)
    rows = [[10.0, 20.0], [30.0, 70.0], [50.0, 5.0], [-1.0, -1.0]]
    if net.family == "ritm":
        rows = [r + [float(i) if r[0] >= 0 else -1.0] for i, r in enumerate(rows)]
    points = torch.tensor([rows, rows[::-1]], dtype=torch.float32)
    return image, points


@pytest.mark.parametrize("key", sorted(NETS))
def test_forward_shapes_and_click_dependence(key: str) -> None:
    net = _make(key)
    image, points = _inputs(net)
    with torch.no_grad():
        out = net(image, points)
        no_clicks = net(image, torch.full_like(points, -1.0))
    assert out["instances"].shape == (2, 1, 64, 96)
    with_aux = NETS[key][1].get("with_aux_output", False) and NETS[key][1].get("ocr_width", 0) > 0
    assert ("instances_aux" in out) == with_aux
    if with_aux:
        assert out["instances_aux"].shape == (2, 1, 64, 96)
    assert torch.isfinite(out["instances"]).all()
    change = float((out["instances"] - no_clicks["instances"]).abs().max())
    assert change > 1e-5 * float(out["instances"].abs().max())  # clicks reach the output (≫ float noise)


@pytest.mark.parametrize("key", sorted(NETS))
def test_insertion_points_reproduce_backbone_forward(key: str) -> None:
    net = _make(key)
    image, points = _inputs(net)
    with torch.no_grad():
        normalised, prev_mask = net.prepare_input(image)
        coord_features = net.get_coord_features(normalised, prev_mask, points)
        reference = net.backbone_forward(normalised, coord_features)["instances"]
        for letter, point in net.brs_insertion_points.items():
            features, extras = net.forward_to_insertion(point, normalised, coord_features)
            assert features.shape[0] == 2 and features.shape[1] == net.insertion_channels(point)
            logits = net.forward_from_insertion(point, features, extras)
            magnitude = float(reference.abs().max())
            torch.testing.assert_close(logits, reference, atol=1e-4 * magnitude, rtol=1e-4)
            perturbed = net.forward_from_insertion(point, features * 3.0 + 1.0, extras)
            change = float((perturbed - reference).abs().max())
            assert change > 1e-4 * magnitude, f"{letter}/{point} ignores its features"


def test_insertion_point_names_and_channels() -> None:
    deeplab = _make("fbrs_deeplab_r34")
    assert deeplab.brs_insertion_points == {"A": "after_c4", "B": "after_aspp", "C": "after_deeplab"}
    assert [deeplab.insertion_channels(p) for p in ("after_c4", "after_aspp", "after_deeplab")] == [512, 160, 128]
    hrnet = _make("ritm_hrnet18s_itermask")
    assert hrnet.brs_insertion_points["B"] == hrnet.brs_insertion_points["A"] == "A"
    assert hrnet.insertion_channels("A") == 270 and hrnet.insertion_channels("C") == 96
    with pytest.raises(ValueError, match="unknown insertion point"):
        hrnet.forward_to_insertion("after_c4", torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="unknown insertion point"):
        deeplab.insertion_channels("D")


def test_gradients_reach_fbrs_variables_and_click_maps_with_frozen_weights() -> None:
    net = _make("fbrs_deeplab_r34")
    for p in net.parameters():
        p.requires_grad_(False)
    image, points = _inputs(net, 48, 48)
    normalised, _ = net.prepare_input(image[:1])
    coord_features = net.get_coord_features(normalised, None, points[:1])
    with torch.no_grad():
        features, extras = net.forward_to_insertion("after_aspp", normalised, coord_features)
    scale = torch.zeros(1, features.shape[1], 1, 1, requires_grad=True)
    net.forward_from_insertion("after_aspp", features * (1 + scale), extras).sum().backward()
    assert scale.grad is not None and scale.grad.abs().sum() > 0
    maps = coord_features.clone().requires_grad_(True)
    net.backbone_forward(normalised, maps)["instances"].sum().backward()
    assert maps.grad is not None and maps.grad.abs().sum() > 0


@pytest.mark.parametrize("key", ["ritm_hrnet18s_itermask", "fbrs_deeplab_r34"])
def test_config_rebuilds_same_architecture(key: str) -> None:
    net = _make(key)
    config = net.config()
    rebuilt = registry.build(config["class"], **config["params"])
    assert type(rebuilt) is type(net)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}


def test_bad_inputs_are_rejected() -> None:
    ritm = _make("ritm_hrnet18s_itermask")
    with pytest.raises(ValueError, match=r"\(B, 4, H, W\)"):
        ritm.prepare_input(torch.rand(1, 3, 32, 32))
    fbrs = _make("fbrs_deeplab_r34")
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        fbrs.prepare_input(torch.rand(1, 4, 32, 32))
    with pytest.raises(ValueError, match="no previous mask"):
        fbrs.get_coord_features(torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8), torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match="mutually exclusive"):
        registry.build("ritm_hrnet", width=18, ocr_width=0, small=True, use_rgb_conv=True, conv_extend=True)
    with pytest.raises(ValueError, match="unknown ResNet backbone"):
        registry.build("fbrs_deeplab", backbone="resnet18")
