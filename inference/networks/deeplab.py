"""DeepLabV3+ feature extractor (f-BRS / RITM layout): dilated ResNet, 32-ch skip projection of c1, ASPP
with an image-pooling branch, and a head of two separable convs + 1×1 conv.

Keys: ``backbone.*``, ``skip_project.skip_project.{0,1}.*``, ``aspp.concurent.{0..4}.*``,
``aspp.project.{0,1}.*``, ``head.block.{0,1}.body.*``, ``head.block.2.*``.
Bilinear resizing uses align_corners=True, as in the reference.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .blocks import SeparableConv2d
from .resnet import ResNetBackbone

SKIP_CHANNELS = 32
ASPP_RATES = (12, 24, 36)


def resize_like(x: Tensor, size: tuple[int, int] | torch.Size) -> Tensor:
    """Bilinear resize (align_corners=True) of (B, C, h, w) to spatial ``size`` (h', w')."""
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class SkipProject(nn.Module):
    """Conv1x1 (no bias) → BN → ReLU on the stride-4 c1 features."""

    def __init__(self, in_channels: int, out_channels: int = SKIP_CHANNELS) -> None:
        super().__init__()
        self.skip_project = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.skip_project(x)


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 1, dilation: int = 1
                  ) -> nn.Sequential:
    padding = dilation if kernel_size == 3 else 0
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, padding=padding, dilation=dilation,
                  bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


def _separable_bn_relu(in_channels: int, out_channels: int, dilation: int = 1) -> nn.Sequential:
    """Depthwise 3×3 (dilated) → pointwise 1×1 → BN → ReLU (keys ``0.weight``, ``1.weight``, ``2.*``)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, padding=dilation, dilation=dilation, groups=in_channels, bias=False),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class ASPPPooling(nn.Module):
    """Global average pool → Conv1x1 → [BN →] ReLU → bilinear upsample back to the input size."""

    def __init__(self, in_channels: int, out_channels: int, norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.AdaptiveAvgPool2d((1, 1)),
                                   nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)]
        if norm:
            layers.append(nn.BatchNorm2d(out_channels))
        self.gap = nn.Sequential(*layers, nn.ReLU())

    def forward(self, x: Tensor) -> Tensor:
        return resize_like(self.gap(x), x.shape[2:])


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: a 1×1 branch, one dilated 3×3 branch per rate, image pooling → concat →
    1×1 → BN → ReLU → Dropout; (B, in_channels, h, w) → (B, out_channels, h, w).

    The reference networks' (f-BRS / RITM DeepLab) have plain 3×3 branches and a BatchNorm in the pooling
    branch; our MobileNetV2 network's are separable (`separable=True`) with no BatchNorm there
    (`pool_norm=False`). State-dict keys: ``concurent.{i}`` (branches in order, pooling last), ``project``.
    """

    def __init__(self, in_channels: int, out_channels: int, rates: tuple[int, ...] = ASPP_RATES,
                 project_dropout: float = 0.5, separable: bool = False, pool_norm: bool = True) -> None:
        super().__init__()
        atrous = [_separable_bn_relu(in_channels, out_channels, r) if separable
                  else _conv_bn_relu(in_channels, out_channels, kernel_size=3, dilation=r) for r in rates]
        self.concurent = nn.ModuleList(
            [_conv_bn_relu(in_channels, out_channels)] + atrous
            + [ASPPPooling(in_channels, out_channels, norm=pool_norm)]
        )
        project: list[nn.Module] = [
            nn.Conv2d((len(rates) + 2) * out_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        ]
        if project_dropout > 0:
            project.append(nn.Dropout(project_dropout))
        self.project = nn.Sequential(*project)

    def forward(self, x: Tensor) -> Tensor:
        return self.project(torch.cat([branch(x) for branch in self.concurent], dim=1))


class DeepLabHead(nn.Module):
    """SeparableConv(in→mid) → SeparableConv(mid→mid) → Conv1x1(mid→out, bias)."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            SeparableConv2d(in_channels, mid_channels),
            SeparableConv2d(mid_channels, mid_channels),
            nn.Conv2d(mid_channels, out_channels, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x)


class DeepLabV3Plus(nn.Module):
    """DeepLabV3+ on a dilated ResNet; (B, 3, H, W) → ``ch`` features at stride 4.

    The forward is split at the f-BRS insertion points: :meth:`encode` (backbone + skip projection),
    :meth:`decode_from_c4` (ASPP, resize, concat skip), :meth:`head` (DeepLab head).
    """

    def __init__(self, backbone: str = "resnet50", ch: int = 256, project_dropout: float = 0.5) -> None:
        super().__init__()
        self.backbone_name = backbone
        self.ch = ch
        self.backbone = ResNetBackbone(backbone, dilated=True)
        self.head = DeepLabHead(ch + SKIP_CHANNELS, ch, ch)
        self.skip_project = SkipProject(self.backbone.c1_channels, SKIP_CHANNELS)
        self.aspp = ASPP(self.backbone.c4_channels, ch, ASPP_RATES, project_dropout)

    def encode(self, x: Tensor, additional_features: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(B, 3, H, W) → (c4 (B, C4, H/8, W/8), projected skip (B, 32, H/4, W/4))."""
        c1, _, _, c4 = self.backbone(x, additional_features)
        return c4, self.skip_project(c1)

    def decode_from_c4(self, c4: Tensor, skip: Tensor) -> Tensor:
        """ASPP(c4) resized to the skip size and concatenated with it → (B, ch + 32, H/4, W/4)."""
        x = resize_like(self.aspp(c4), skip.shape[2:])
        return torch.cat((x, skip), dim=1)

    def forward(self, x: Tensor, additional_features: Tensor | None = None) -> Tensor:
        """(B, 3, H, W) → (B, ch, H/4, W/4) DeepLab features."""
        c4, skip = self.encode(x, additional_features)
        return self.head(self.decode_from_c4(c4, skip))
