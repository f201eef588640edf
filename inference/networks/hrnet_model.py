"""HRNet-OCR side shared by the RITM and f-BRS HRNet click networks: backbone forward and the f-BRS
insertion points (spec §1.3): ``A`` = aggregated HRNet features (15·W channels; the tail recomputes
aux head, conv3x3_ocr, OCR gather/distribution and cls_head), ``C`` = OCR output (2·ocr_width channels;
the tail is cls_head only). f-BRS-B maps to ``A``.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from .hrnet import HighResolutionNet

HRNET_INSERTION_POINTS: dict[str, str] = {"A": "A", "B": "A", "C": "C"}


class HRNetClickMixin:
    """Needs ``self.feature_extractor: HighResolutionNet``, ``self.with_aux_output`` and ``self.fuse_inputs``."""

    brs_insertion_points = HRNET_INSERTION_POINTS
    feature_extractor: HighResolutionNet
    with_aux_output: bool

    def _resolve_point(self, point: str) -> str:
        name = self.brs_insertion_points.get(point)
        if name is None:
            raise ValueError(f"unknown insertion point {point!r}; known: {sorted(self.brs_insertion_points)}")
        return name

    def backbone_forward(self, image: Tensor, coord_features: Tensor) -> dict[str, Tensor]:
        """Normalised image + click maps → {"instances": (B,1,H/4,W/4)[, "instances_aux": same]}."""
        x, additional = self.fuse_inputs(image, coord_features)  # type: ignore[attr-defined]
        out, out_aux = self.feature_extractor(x, additional)
        outputs = {"instances": out}
        if self.with_aux_output and out_aux is not None:
            outputs["instances_aux"] = out_aux
        return outputs

    def forward_to_insertion(self, point: str, image: Tensor, coord_features: Tensor) -> tuple[Tensor, Any]:
        """Front part up to ``point`` → (features (B, C, H/4, W/4), None)."""
        name = self._resolve_point(point)
        x, additional = self.fuse_inputs(image, coord_features)  # type: ignore[attr-defined]
        feats = self.feature_extractor.compute_hrnet_feats(x, additional)
        if name == "A":
            return feats, None
        return self.feature_extractor.ocr_features(feats)[0], None

    def forward_from_insertion(self, point: str, features: Tensor, extras: Any) -> Tensor:
        """Tail from (scaled/biased) ``features`` → instance logits (B, 1, H/4, W/4)."""
        name = self._resolve_point(point)
        if name == "A":
            features = self.feature_extractor.ocr_features(features)[0]
        return self.feature_extractor.cls_head(features)

    def insertion_channels(self, point: str) -> int:
        """A: 15·W (270 for W18); C: 2·ocr_width (96 for OCR48)."""
        if self._resolve_point(point) == "A":
            return self.feature_extractor.feature_channels
        return self.feature_extractor.ocr_channels
