"""DeepLab side shared by the f-BRS and RITM DeepLabV3+ click networks: backbone forward and the three
f-BRS insertion points (spec §1.3):

- ``after_c4``: features = layer4 output c4; the tail recomputes ASPP, concat with the skip projection
  (passed as ``extras``), the DeepLab head and the instance head.
- ``after_aspp``: features = concat(upsampled ASPP output, skip projection) (ch + 32 channels); the tail
  recomputes the DeepLab head and the instance head.
- ``after_deeplab``: features = DeepLab head output (ch channels); the tail is the instance head only.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from .blocks import SepConvHead
from .deeplab import SKIP_CHANNELS, DeepLabV3Plus

DEEPLAB_INSERTION_POINTS: dict[str, str] = {"A": "after_c4", "B": "after_aspp", "C": "after_deeplab"}


class DeepLabClickMixin:
    """Needs ``self.feature_extractor: DeepLabV3Plus``, ``self.head: SepConvHead`` and ``self.fuse_inputs``."""

    brs_insertion_points = DEEPLAB_INSERTION_POINTS
    feature_extractor: DeepLabV3Plus
    head: SepConvHead

    def _resolve_point(self, point: str) -> str:
        name = self.brs_insertion_points.get(point, point)
        if name not in self.brs_insertion_points.values():
            raise ValueError(f"unknown insertion point {point!r}; known: "
                             f"{sorted(set(self.brs_insertion_points.values()))} or mode letters "
                             f"{sorted(self.brs_insertion_points)}")
        return name

    def backbone_forward(self, image: Tensor, coord_features: Tensor) -> dict[str, Tensor]:
        """Normalised image (B,3,H,W) + click maps → {"instances": logits (B,1,H/4,W/4)}."""
        x, additional = self.fuse_inputs(image, coord_features)  # type: ignore[attr-defined]
        return {"instances": self.head(self.feature_extractor(x, additional))}

    def forward_to_insertion(self, point: str, image: Tensor, coord_features: Tensor) -> tuple[Tensor, Any]:
        """Front part up to ``point`` → (features (B, C, h, w), extras: skip features (after_c4) or None)."""
        name = self._resolve_point(point)
        x, additional = self.fuse_inputs(image, coord_features)  # type: ignore[attr-defined]
        if name == "after_deeplab":
            return self.feature_extractor(x, additional), None
        c4, skip = self.feature_extractor.encode(x, additional)
        if name == "after_c4":
            return c4, skip
        return self.feature_extractor.decode_from_c4(c4, skip), None

    def forward_from_insertion(self, point: str, features: Tensor, extras: Any) -> Tensor:
        """Tail from (scaled/biased) ``features`` → instance logits (B, 1, h, w) at stride 4."""
        name = self._resolve_point(point)
        if name == "after_c4":
            if extras is None:
                raise ValueError("after_c4 needs the skip features returned by forward_to_insertion")
            features = self.feature_extractor.head(self.feature_extractor.decode_from_c4(features, extras))
        elif name == "after_aspp":
            features = self.feature_extractor.head(features)
        return self.head(features)

    def insertion_channels(self, point: str) -> int:
        """Channels at ``point``: c4 (512 R34 / 2048 R50+), ch + 32, ch."""
        name = self._resolve_point(point)
        if name == "after_c4":
            return self.feature_extractor.backbone.c4_channels
        if name == "after_aspp":
            return self.feature_extractor.ch + SKIP_CHANNELS
        return self.feature_extractor.ch


def make_deeplab_parts(backbone: str, deeplab_ch: int, aspp_dropout: float) -> tuple[DeepLabV3Plus, SepConvHead]:
    """DeepLabV3+ feature extractor and the SepConv instance head (ch → ch/2 → ch/2 → 1)."""
    extractor = DeepLabV3Plus(backbone=backbone, ch=deeplab_ch, project_dropout=aspp_dropout)
    head = SepConvHead(1, in_channels=deeplab_ch, mid_channels=deeplab_ch // 2, num_layers=2)
    return extractor, head
