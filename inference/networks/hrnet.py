"""HRNetV2 (W18/W32/W48, optional "small" variant) with the OCR head, in the key layout of the RITM and
f-BRS code bases. Branch fusion and the final aggregation use bilinear resizing with align_corners=True.

The forward is split for f-BRS: :meth:`HighResolutionNet.compute_hrnet_feats` gives the aggregated
features (insertion point A, 15·W channels), :meth:`ocr_features` the OCR output (point C, 2·ocr_width
channels) together with the auxiliary logits, :meth:`cls_head` the final logits.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .ocr import SpatialGather, SpatialOCR


def _resize(x: Tensor, size: tuple[int, int] | torch.Size) -> Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class BasicBlock(nn.Module):
    """Two 3×3 convs with BN and an identity / projection shortcut."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    """1×1 → 3×3 (stride) → 1×1 (×4) with BN and an identity / projection shortcut."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
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


def _make_blocks(block: type[nn.Module], inplanes: int, planes: int, blocks: int, stride: int = 1
                 ) -> nn.Sequential:
    out_channels = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != out_channels:
        downsample = nn.Sequential(nn.Conv2d(inplanes, out_channels, 1, stride=stride, bias=False),
                                   nn.BatchNorm2d(out_channels))
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(out_channels, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def _conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int, relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, bias=False),
                               nn.BatchNorm2d(out_ch)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    """One multi-resolution module: a BasicBlock stack per branch, then exchange (fusion) across branches."""

    def __init__(self, channels: list[int], num_blocks: int, multi_scale_output: bool = True) -> None:
        super().__init__()
        self.num_branches = len(channels)
        self.branches = nn.ModuleList(
            [_make_blocks(BasicBlock, c, c, num_blocks) for c in channels]
        )
        self.fuse_layers = self._make_fuse_layers(channels, multi_scale_output) if self.num_branches > 1 else None
        self.relu = nn.ReLU(inplace=True)

    @staticmethod
    def _make_fuse_layers(channels: list[int], multi_scale_output: bool) -> nn.ModuleList:
        n = len(channels)
        fuse_layers = []
        for i in range(n if multi_scale_output else 1):
            row: list[nn.Module | None] = []
            for j in range(n):
                if j > i:  # lower resolution → 1×1 conv + BN, upsampled in forward
                    row.append(_conv_bn(channels[j], channels[i], 1, 1, relu=False))
                elif j == i:
                    row.append(None)
                else:  # higher resolution → (i − j) strided 3×3 convs
                    steps = [_conv_bn(channels[j], channels[j], 3, 2, relu=True) for _ in range(i - j - 1)]
                    steps.append(_conv_bn(channels[j], channels[i], 3, 2, relu=False))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(nn.ModuleList(row))
        return nn.ModuleList(fuse_layers)

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        fused = []
        for i, row in enumerate(self.fuse_layers):
            y = xs[0] if i == 0 else row[0](xs[0])
            for j in range(1, self.num_branches):
                if i == j:
                    y = y + xs[j]
                elif j > i:
                    y = y + _resize(row[j](xs[j]), xs[i].shape[2:])
                else:
                    y = y + row[j](xs[j])
            fused.append(self.relu(y))
        return fused


def _make_transition(pre: list[int], cur: list[int]) -> nn.ModuleList:
    """Transition between stages: adapt existing branches' widths, create new lower-resolution branches."""
    layers: list[nn.Module | None] = []
    for i, out_ch in enumerate(cur):
        if i < len(pre):
            layers.append(_conv_bn(pre[i], out_ch, 3, 1, relu=True) if out_ch != pre[i] else None)
        else:
            steps = []
            for k in range(i + 1 - len(pre)):
                target = out_ch if k == i - len(pre) else pre[-1]
                steps.append(_conv_bn(pre[-1], target, 3, 2, relu=True))
            layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class HighResolutionNet(nn.Module):
    """HRNetV2-W``width`` + OCR (``ocr_width`` > 0) or a conv classification head (``ocr_width`` = 0).

    Input (B, 3, H, W) → [logits (B, num_classes, H/4, W/4), aux logits (same) | None].
    ``additional_features`` (B, 64, H/2, W/2) is added after conv1/bn1/relu (RITM Conv1S).
    """

    def __init__(self, width: int = 18, ocr_width: int = 48, small: bool = False, num_classes: int = 1) -> None:
        super().__init__()
        self.width = width
        self.ocr_width = ocr_width
        self.small = small
        blocks = 2 if small else 4

        self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = _make_blocks(Bottleneck, 64, 64, 2 if small else 4)

        stage_modules = (1, 3, 2) if small else (1, 4, 3)
        pre = [64 * Bottleneck.expansion]
        for index, n_modules in zip((2, 3, 4), stage_modules):
            cur = [width * 2 ** b for b in range(index)]
            setattr(self, f"transition{index - 1}", _make_transition(pre, cur))
            setattr(self, f"stage{index}", nn.Sequential(
                *[HighResolutionModule(cur, blocks) for _ in range(n_modules)]))
            pre = cur
        self.feature_channels = sum(pre)  # 15·W

        last = self.feature_channels
        if ocr_width > 0:
            mid = 2 * ocr_width
            self.conv3x3_ocr = nn.Sequential(
                nn.Conv2d(last, mid, kernel_size=3, stride=1, padding=1),
                nn.BatchNorm2d(mid),
                nn.ReLU(inplace=True),
            )
            self.ocr_gather_head = SpatialGather()
            self.ocr_distri_head = SpatialOCR(mid, ocr_width, mid, dropout=0.05)
            self.cls_head: nn.Module = nn.Conv2d(mid, num_classes, kernel_size=1, bias=True)
            self.aux_head = nn.Sequential(
                nn.Conv2d(last, last, kernel_size=1),
                nn.BatchNorm2d(last),
                nn.ReLU(inplace=True),
                nn.Conv2d(last, num_classes, kernel_size=1, bias=True),
            )
            self.ocr_channels = mid
        else:
            self.cls_head = nn.Sequential(
                nn.Conv2d(last, last, kernel_size=3, padding=1),
                nn.BatchNorm2d(last),
                nn.ReLU(inplace=True),
                nn.Conv2d(last, num_classes, kernel_size=1, bias=True),
            )
            self.ocr_channels = last

    def compute_hrnet_feats(self, x: Tensor, additional_features: Tensor | None = None) -> Tensor:
        """(B, 3, H, W) → aggregated multi-resolution features (B, 15·W, H/4, W/4)."""
        x = self.relu(self.bn1(self.conv1(x)))
        if additional_features is not None:
            x = x + additional_features
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for index in (2, 3, 4):
            transition = getattr(self, f"transition{index - 1}")
            inputs = []
            for i, layer in enumerate(transition):
                source = xs[i] if i < len(xs) else xs[-1]
                inputs.append(source if layer is None else layer(source))
            xs = getattr(self, f"stage{index}")(inputs)
        size = xs[0].shape[2:]
        return torch.cat([xs[0]] + [_resize(t, size) for t in xs[1:]], dim=1)

    def ocr_features(self, feats: Tensor) -> tuple[Tensor, Tensor | None]:
        """Aggregated features → (OCR output (B, 2·ocr_width, h, w), aux logits (B, K, h, w)); without OCR
        → (features unchanged, None)."""
        if self.ocr_width <= 0:
            return feats, None
        out_aux = self.aux_head(feats)
        feats = self.conv3x3_ocr(feats)
        context = self.ocr_gather_head(feats, out_aux)
        return self.ocr_distri_head(feats, context), out_aux

    def forward(self, x: Tensor, additional_features: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        feats, out_aux = self.ocr_features(self.compute_hrnet_feats(x, additional_features))
        return self.cls_head(feats), out_aux
