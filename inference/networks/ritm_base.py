"""Input side of the RITM networks: normalisation inside the model, binary click disks (or distance maps),
optional previous-mask channel, and the click-map fusion (Conv1S by default, ``use_rgb_conv`` or
``conv_extend`` alternatively). Subclasses add the feature extractor and heads.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from .base import ClickNetwork
from .ops import (IMAGENET_MEAN, IMAGENET_STD, BatchImageNormalize, ClickMaps, conv1s_maps_transform,
                  conv_extend_maps_transform, ritm_rgb_conv)


class RITMClickNetwork(ClickNetwork):
    """Common RITM model front (``isegm.model.is_model.ISModel``).

    Args:
        with_prev_mask: the image handed to ``prepare_input`` has a 4th channel, the previous probability.
        binary_prev_mask: threshold the previous mask at 0.5.
        use_disks / norm_radius: click encoding (disks of radius 5 px in all released models).
        use_rgb_conv / conv_extend / use_leaky_relu: click-map fusion variant (default Conv1S).
        norm_mean_std: ((mean r, g, b), (std r, g, b)) of the in-model normalisation.
    """

    family = "ritm"

    def __init__(self, *, with_prev_mask: bool = False, binary_prev_mask: bool = False, use_disks: bool = False,
                 norm_radius: float = 260, use_rgb_conv: bool = True, conv_extend: bool = False,
                 use_leaky_relu: bool = False,
                 norm_mean_std: Sequence[Sequence[float]] = (IMAGENET_MEAN, IMAGENET_STD)) -> None:
        super().__init__()
        if use_rgb_conv and conv_extend:
            raise ValueError("use_rgb_conv and conv_extend are mutually exclusive")
        self.with_prev_mask = bool(with_prev_mask)
        self.binary_prev_mask = bool(binary_prev_mask)
        self.coord_feature_ch = 2 + (1 if with_prev_mask else 0)
        self.normalization = BatchImageNormalize(norm_mean_std[0], norm_mean_std[1])
        self.rgb_conv: nn.Module | None = None
        if use_rgb_conv:
            self.rgb_conv = ritm_rgb_conv(self.coord_feature_ch, leaky=use_leaky_relu)
        elif conv_extend:
            self.maps_transform: nn.Module = conv_extend_maps_transform(self.coord_feature_ch)
        else:
            self.maps_transform = conv1s_maps_transform(self.coord_feature_ch, leaky=use_leaky_relu)
        self.dist_maps = ClickMaps(norm_radius=norm_radius, use_disks=use_disks)

    def prepare_input(self, image: Tensor) -> tuple[Tensor, Tensor | None]:
        """(B, 3[+1], H, W) RGB in [0, 1] (+ prev mask) → (normalised (B, 3, H, W), prev mask (B, 1, H, W) | None)."""
        expected = 4 if self.with_prev_mask else 3
        if image.dim() != 4 or image.shape[1] != expected:
            raise ValueError(f"expected a (B, {expected}, H, W) input, got {tuple(image.shape)}")
        prev_mask = None
        if self.with_prev_mask:
            prev_mask = image[:, 3:, :, :]
            image = image[:, :3, :, :]
            if self.binary_prev_mask:
                prev_mask = (prev_mask > 0.5).float()
        return self.normalization(image), prev_mask

    def get_coord_features(self, image: Tensor, prev_mask: Tensor | None, points: Tensor) -> Tensor:
        """(B, C, H, W) click maps: [prev mask, pos disks, neg disks] (or [pos, neg] without prev mask)."""
        coord_features = self.dist_maps(image, points)
        if prev_mask is not None:
            coord_features = torch.cat((prev_mask, coord_features), dim=1)
        return coord_features

    def fuse_inputs(self, image: Tensor, coord_features: Tensor) -> tuple[Tensor, Tensor | None]:
        """(normalised image, click maps) → (backbone input (B, 3, H, W), features added after the first
        backbone conv (B, 64, H/2, W/2) | None)."""
        if coord_features.shape[1] != self.coord_feature_ch:
            raise ValueError(f"expected {self.coord_feature_ch} click-map channels, got {coord_features.shape[1]}")
        if self.rgb_conv is not None:
            return self.rgb_conv(torch.cat((image, coord_features), dim=1)), None
        return image, self.maps_transform(coord_features)
