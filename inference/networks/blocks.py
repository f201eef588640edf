"""Convolution blocks shared by the DeepLab heads: separable convolution and the SepConv instance head."""
from __future__ import annotations

from torch import Tensor, nn


class SeparableConv2d(nn.Module):
    """Depthwise k×k conv (no bias) → pointwise 1×1 conv (no bias) → BN → ReLU.

    State-dict keys: ``body.0.weight`` (depthwise), ``body.1.weight`` (pointwise), ``body.2.*`` (BN).
    (B, in_channels, H, W) → (B, out_channels, H, W) for stride 1.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 1,
                 stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, kernel_size=kernel_size, stride=stride, padding=padding,
                      groups=in_channels, bias=False),
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class SepConvHead(nn.Module):
    """Instance head: ``num_layers`` SeparableConv2d (in→mid, mid→mid, ...) → Conv1x1(mid→num_outputs, bias).

    Keys ``layers.{i}.body.*`` and ``layers.{num_layers}.{weight,bias}``. (B, in, h, w) → (B, num_outputs, h, w).
    """

    def __init__(self, num_outputs: int, in_channels: int, mid_channels: int, num_layers: int = 1) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError("SepConvHead needs at least one separable conv layer")
        layers: list[nn.Module] = [
            SeparableConv2d(in_channels if i == 0 else mid_channels, mid_channels) for i in range(num_layers)
        ]
        layers.append(nn.Conv2d(mid_channels, num_outputs, kernel_size=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
