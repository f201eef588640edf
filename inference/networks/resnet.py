"""Dilated ResNet-V1b backbones (output stride 8) with the key layout of the gluon-converted ResNets used
by f-BRS and RITM: ResNet-34 "v1b" (7×7 stem, BasicBlocks) and ResNet-50/101 "v1s" (deep 3×3 stem,
Bottlenecks). Layer3 uses dilation 2, layer4 dilation 4; the first block of each dilated layer uses the
previous dilation in its first dilated conv, as in the reference.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
from torch.nn import functional as F


class BasicBlockV1b(nn.Module):
    """Two 3×3 convs with BN; conv1 has (stride, dilation), conv2 uses ``previous_dilation``."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, previous_dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=previous_dilation,
                               dilation=previous_dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(out + residual)


class BottleneckV1b(nn.Module):
    """1×1 → 3×3 (stride, dilation) → 1×1 (×4 channels) with BN; ``previous_dilation`` is unused."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, previous_dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(out + residual)


@dataclass(frozen=True)
class ResNetSpec:
    """Block type, blocks per layer and stem of one ResNet depth."""

    block: type[nn.Module]
    layers: tuple[int, int, int, int]
    deep_stem: bool


RESNET_SPECS: dict[str, ResNetSpec] = {
    "resnet34": ResNetSpec(BasicBlockV1b, (3, 4, 6, 3), deep_stem=False),
    "resnet50": ResNetSpec(BottleneckV1b, (3, 4, 6, 3), deep_stem=True),
    "resnet101": ResNetSpec(BottleneckV1b, (3, 4, 23, 3), deep_stem=True),
    "resnet152": ResNetSpec(BottleneckV1b, (3, 8, 36, 3), deep_stem=True),
}


class ResNetBackbone(nn.Module):
    """Dilated ResNet-V1b feature extractor returning (c1, c2, c3, c4).

    Input (B, 3, H, W); c1 stride 4 (64 ch R34 / 256 ch R50+), c2 stride 8, c3 and c4 stride 8 (c4: 512 /
    2048 ch). ``additional_features`` (B, ≤stem_ch, H/2, W/2), if given, is zero-padded in the channel
    dimension and added after conv1/bn1/relu (RITM Conv1S), before the max-pool.
    """

    def __init__(self, backbone: str = "resnet50", dilated: bool = True) -> None:
        super().__init__()
        if backbone not in RESNET_SPECS:
            raise ValueError(f"unknown ResNet backbone {backbone!r}; known: {sorted(RESNET_SPECS)}")
        spec = RESNET_SPECS[backbone]
        block = spec.block
        stem_width = 64
        if spec.deep_stem:
            self.conv1: nn.Module = nn.Sequential(
                nn.Conv2d(3, stem_width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(stem_width),
                nn.ReLU(True),
                nn.Conv2d(stem_width, stem_width, 3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(stem_width),
                nn.ReLU(True),
                nn.Conv2d(stem_width, 2 * stem_width, 3, stride=1, padding=1, bias=False),
            )
            self.inplanes = 2 * stem_width
        else:
            self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.inplanes = 64
        self.stem_channels = self.inplanes
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, spec.layers[0])
        self.layer2 = self._make_layer(block, 128, spec.layers[1], stride=2)
        if dilated:
            self.layer3 = self._make_layer(block, 256, spec.layers[2], dilation=2)
            self.layer4 = self._make_layer(block, 512, spec.layers[3], dilation=4)
        else:
            self.layer3 = self._make_layer(block, 256, spec.layers[2], stride=2)
            self.layer4 = self._make_layer(block, 512, spec.layers[3], stride=2)
        self.c1_channels = 64 * block.expansion
        self.c4_channels = 512 * block.expansion

    def _make_layer(self, block: type[nn.Module], planes: int, blocks: int, stride: int = 1,
                    dilation: int = 1) -> nn.Sequential:
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_channels:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        first_dilation = {1: 1, 2: 1, 4: 2}.get(dilation)
        if first_dilation is None:
            raise ValueError(f"unsupported dilation {dilation}")
        layers = [block(self.inplanes, planes, stride, dilation=first_dilation, downsample=downsample,
                        previous_dilation=dilation)]
        self.inplanes = out_channels
        layers += [block(self.inplanes, planes, dilation=dilation, previous_dilation=dilation)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor, additional_features: Tensor | None = None
                ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        if additional_features is not None:
            pad = x.shape[1] - additional_features.shape[1]
            if pad < 0:
                raise ValueError(f"additional features have {additional_features.shape[1]} channels, "
                                 f"more than the stem's {x.shape[1]}")
            x = x + F.pad(additional_features, [0, 0, 0, 0, 0, pad], mode="constant", value=0)
        x = self.maxpool(x)
        c1 = self.layer1(x)
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        return c1, c2, c3, c4

