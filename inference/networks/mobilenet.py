"""ClickLabel's own default click network: DeepLabV3+ on an ImageNet MobileNetV2 (or EfficientNet-Lite0,
registered as `efficientnet_lite0_deeplabv3p`), RITM family.

Input to `forward`: (B, 4, H, W) = RGB in [0, 1] + previous probability (or (B, 3, H, W) when built with
`with_prev_mask=False`); points (B, 2P, 3) rows (y, x, index). Clicks become radius-5 disks which, with
the previous mask, pass through a Conv1S branch added to the stem activation (stride 2, 32 ch).

Data flow and f-BRS insertion points (channel counts with the default params):
    stem(+Conv1S) → MobileNetV2 stages → c4 (320 ch, stride os)   ← "after_c4"   (f-BRS-A)
    ASPP(c4) upsampled to stride 4 ‖ skip(c1) → 160 ch             ← "after_aspp" (f-BRS-B)
    decoder: 2 × separable 3×3 → 128 ch                            ← "after_deeplab" (f-BRS-C)
    instance head → 1 logit channel at stride 4
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from inference.networks.base import ClickNetwork
from inference.networks.registry import register
from inference.networks.deeplab import ASPP
from inference.networks.mobilenet_parts import (
    IMAGENET_MEAN, IMAGENET_STD, Conv1S, InstanceHead, SepConvBNReLU, SkipProjection, click_disks,
)
from inference.networks import efficientnet_lite, mobilenet_v2

REGISTRY_NAME = "mobilenetv2_deeplabv3p"
EFFICIENTNET_REGISTRY_NAME = "efficientnet_lite0_deeplabv3p"
# backbone name → (class taking output_stride, stem / low-level / high-level channels)
BACKBONES: dict[str, tuple[type[nn.Module], int, int, int]] = {
    "mobilenetv2": (mobilenet_v2.MobileNetV2Backbone, mobilenet_v2.STEM_CHANNELS,
                    mobilenet_v2.LOW_LEVEL_CHANNELS, mobilenet_v2.HIGH_LEVEL_CHANNELS),
    "efficientnet_lite0": (efficientnet_lite.EfficientNetLiteBackbone, efficientnet_lite.STEM_CHANNELS,
                           efficientnet_lite.LOW_LEVEL_CHANNELS, efficientnet_lite.HIGH_LEVEL_CHANNELS),
}
INSERTION_POINTS = ("after_c4", "after_aspp", "after_deeplab")
ASPP_RATES_AT_STRIDE_16 = (6, 12, 18)


def default_aspp_rates(output_stride: int) -> tuple[int, int, int]:
    """DeepLabV3's ASPP rates for a backbone output stride: (6, 12, 18) at 16, doubled at 8, halved at 32."""
    if output_stride not in (8, 16, 32):
        raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
    return tuple(max(1, r * 16 // output_stride) for r in ASPP_RATES_AT_STRIDE_16)  # type: ignore[return-value]


class MobileNetV2DeepLabClickNet(ClickNetwork):
    """DeepLabV3+ interactive segmentation network on MobileNetV2 or EfficientNet-Lite0 (module docstring).

    Args:
        output_stride: backbone output stride, 16 or 8.
        aspp_rates: dilation rates of the ASPP's three atrous branches; None → DeepLabV3's (6, 12, 18) at
            output stride 16, scaled by 16 / output_stride (12, 24, 36 at 8), so that a model trained at
            one stride keeps the same receptive fields in image pixels when run at another.
        backbone: a key of `BACKBONES` ("mobilenetv2" or "efficientnet_lite0").
        aspp_ch: ASPP output channels. skip_ch: low-level projection channels. head_ch: decoder width.
        with_prev_mask: whether a 4th input channel carries the previous probability (ITER-M).
        norm_radius: click disk radius in network-input pixels.
        aspp_dropout: dropout after the ASPP projection.
    """

    family = "ritm"
    brs_insertion_points = {"A": "after_c4", "B": "after_aspp", "C": "after_deeplab"}
    optimise_at_load = True
    backbone_prefixes = ("backbone.",)

    def __init__(self, output_stride: int = 16, aspp_ch: int = 128, skip_ch: int = 32, head_ch: int = 128,
                 with_prev_mask: bool = True, norm_radius: float = 5.0, aspp_dropout: float = 0.1,
                 backbone: str = "mobilenetv2", aspp_rates: tuple[int, int, int] | None = None) -> None:
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; expected one of {sorted(BACKBONES)}")
        backbone_cls, stem_ch, low_ch, high_ch = BACKBONES[backbone]
        self.with_prev_mask = bool(with_prev_mask)
        self.norm_radius = float(norm_radius)
        self.coord_channels = 3 if self.with_prev_mask else 2
        self.backbone = backbone_cls(output_stride=output_stride)
        self.maps_transform = Conv1S(self.coord_channels, stem_ch)
        self.aspp = ASPP(high_ch, aspp_ch, rates=default_aspp_rates(output_stride) if aspp_rates is None
                         else tuple(aspp_rates), project_dropout=aspp_dropout, separable=True, pool_norm=False)
        self.skip = SkipProjection(low_ch, skip_ch)
        self.decoder = nn.Sequential(SepConvBNReLU(aspp_ch + skip_ch, head_ch), SepConvBNReLU(head_ch, head_ch))
        self.head = InstanceHead(head_ch, head_ch // 2)
        self._channels = {"after_c4": high_ch, "after_aspp": aspp_ch + skip_ch,
                          "after_deeplab": head_ch}
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    # --- ClickNetwork interface ----------------------------------------------------------------------
    def prepare_input(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, 4, H, W) RGB in [0,1] + prev probability → ((B,3,H,W) ImageNet-normalised, (B,1,H,W));
        (B, 3, H, W) → (normalised, None) for a model built without the prev mask."""
        expected = 4 if self.with_prev_mask else 3
        if image.dim() != 4 or image.shape[1] != expected:
            raise ValueError(f"expected image (B, {expected}, H, W), got {tuple(image.shape)}")
        rgb = (image[:, :3] - self.mean) / self.std
        prev = image[:, 3:4] if self.with_prev_mask else None
        return rgb, prev

    def get_coord_features(self, image: torch.Tensor, prev_mask: torch.Tensor | None,
                           points: torch.Tensor) -> torch.Tensor:
        """[prev, positive disks, negative disks] (B, 3, H, W), or (B, 2, H, W) without the prev mask."""
        disks = click_disks(points, image.shape[2], image.shape[3], self.norm_radius).to(image.dtype)
        if self.with_prev_mask:
            if prev_mask is None:
                raise ValueError("this network needs the previous mask channel")
            return torch.cat([prev_mask, disks], dim=1)
        return disks

    def backbone_forward(self, image: torch.Tensor, coord_features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Normalised image + click maps → {"instances": logits (B, 1, H/4, W/4)}."""
        feats, extras = self.forward_to_insertion("after_c4", image, coord_features)
        return {"instances": self.forward_from_insertion("after_c4", feats, extras)}

    def forward_to_insertion(self, point: str, image: torch.Tensor,
                             coord_features: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """Front part up to `point`; extras = low-level features (B,24,H/4,W/4) for after_c4, else None."""
        self._check_point(point)
        if coord_features.shape[1] != self.coord_channels:
            raise ValueError(f"expected {self.coord_channels} click-map channels, got {coord_features.shape[1]}")
        stem = self.backbone.stem(image) + self.maps_transform(coord_features)
        low, c4 = self.backbone.forward_stages(stem)
        if point == "after_c4":
            return c4, low
        feats = self._fuse(self.aspp(c4), low)
        if point == "after_aspp":
            return feats, None
        return self.decoder(feats), None

    def forward_from_insertion(self, point: str, features: torch.Tensor, extras: Any) -> torch.Tensor:
        """Tail from `point` → logits (B, 1, H/4, W/4)."""
        self._check_point(point)
        x = features
        if point == "after_c4":
            if extras is None:
                raise ValueError("after_c4 needs the low-level features as extras")
            x = self._fuse(self.aspp(x), extras)
        if point in ("after_c4", "after_aspp"):
            x = self.decoder(x)
        return self.head(x)

    def insertion_channels(self, point: str) -> int:
        """Channels at `point`: after_c4 320, after_aspp aspp_ch+skip_ch, after_deeplab head_ch."""
        self._check_point(point)
        return self._channels[point]

    # --- helpers -------------------------------------------------------------------------------------
    def _fuse(self, aspp_out: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(aspp_out, size=low.shape[2:], mode="bilinear", align_corners=True)
        return torch.cat([up, self.skip(low)], dim=1)

    @staticmethod
    def _check_point(point: str) -> None:
        if point not in INSERTION_POINTS:
            raise ValueError(f"unknown insertion point {point!r}; expected one of {INSERTION_POINTS}")

    def parameter_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(backbone parameters, all others) — training uses a 0.1 lr multiplier on the first group."""
        backbone = list(self.backbone.parameters())
        ids = {id(p) for p in backbone}
        return backbone, [p for p in self.parameters() if id(p) not in ids]


@register(REGISTRY_NAME)
def build_mobilenetv2_deeplabv3p(**params: Any) -> MobileNetV2DeepLabClickNet:
    """Registry builder: keyword params of `MobileNetV2DeepLabClickNet` (no weights loaded)."""
    return MobileNetV2DeepLabClickNet(**params)


@register(EFFICIENTNET_REGISTRY_NAME)
def build_efficientnet_lite0_deeplabv3p(**params: Any) -> MobileNetV2DeepLabClickNet:
    """Registry builder: the same network on the EfficientNet-Lite0 backbone (keyword params as
    `MobileNetV2DeepLabClickNet`, `backbone` fixed; no weights loaded)."""
    if params.get("backbone", "efficientnet_lite0") != "efficientnet_lite0":
        raise ValueError(f"{EFFICIENTNET_REGISTRY_NAME} is built on efficientnet_lite0, not {params['backbone']}")
    return MobileNetV2DeepLabClickNet(**{**params, "backbone": "efficientnet_lite0"})
