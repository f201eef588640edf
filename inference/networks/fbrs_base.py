"""Input side of the f-BRS repository networks (``DistMapsModel`` / ``DistMapsHRNetModel``): ImageNet
normalisation, distance maps tanh(2·d/260) and the DMF block fusing them with the image."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import ClickNetwork
from .ops import BatchImageNormalize, ClickMaps, fbrs_dmf


class FBRSClickNetwork(ClickNetwork):
    """Common f-BRS model front. No previous-mask input; points rows are (y, x).

    Args:
        use_rgb_conv: DMF block (all released models); otherwise x = 0.8·img·[pos, neg, 1] + 0.2·img.
        norm_radius: distance-map normalisation in pixels (260).
    """

    family = "fbrs"
    with_prev_mask = False

    def __init__(self, *, use_rgb_conv: bool = True, norm_radius: float = 260) -> None:
        super().__init__()
        self.normalization = BatchImageNormalize()
        self.rgb_conv: nn.Module | None = fbrs_dmf(2) if use_rgb_conv else None
        self.dist_maps = ClickMaps(norm_radius=norm_radius, use_disks=False)

    def prepare_input(self, image: Tensor) -> tuple[Tensor, Tensor | None]:
        """(B, 3, H, W) RGB in [0, 1] → (ImageNet-normalised image, None)."""
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"expected a (B, 3, H, W) input, got {tuple(image.shape)}")
        return self.normalization(image), None

    def get_coord_features(self, image: Tensor, prev_mask: Tensor | None, points: Tensor) -> Tensor:
        """(B, 2, H, W) distance maps [positive, negative]; ``prev_mask`` must be None."""
        if prev_mask is not None:
            raise ValueError("f-BRS networks take no previous mask")
        return self.dist_maps(image, points)

    def fuse_inputs(self, image: Tensor, coord_features: Tensor) -> tuple[Tensor, Tensor | None]:
        """(normalised image, distance maps) → (fused backbone input (B, 3, H, W), None)."""
        if coord_features.shape[1] != 2:
            raise ValueError(f"expected 2 distance-map channels, got {coord_features.shape[1]}")
        if self.rgb_conv is not None:
            return self.rgb_conv(torch.cat((image, coord_features), dim=1)), None
        pos, neg = torch.chunk(coord_features, 2, dim=1)
        maps = torch.cat((pos, neg, torch.ones_like(pos)), dim=1)
        return 0.8 * image * maps + 0.2 * image, None
