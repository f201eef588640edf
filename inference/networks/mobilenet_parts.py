"""Small building blocks of the MobileNetV2 click network: click disks (RITM DistMaps with use_disks),
the Conv1S click branch, separable convolutions and the DeepLabV3+ decoder (the ASPP is
`inference.networks.deeplab.ASPP` with separable branches)."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from inference.networks.ops import conv1s_maps_transform

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def click_disks(points: torch.Tensor, height: int, width: int, radius: float = 5.0) -> torch.Tensor:
    """Binary click disks as RITM `DistMaps(norm_radius=radius, use_disks=True)`.

    Only the pixels of a small window around each real click are tested, all clicks at once (no loop over
    the padded click slots, no full-map pass per slot); the test is RITM's, `(y - py)² + (x - px)² ≤ r²`
    in float32, so the maps are bit-identical to the full-map computation.

    Args:
        points: (B, 2P, 2|3) float rows (y, x[, index]); first P rows positive, next P negative; rows with a
            negative coordinate are padding.
        height, width: output size (network-input pixels).
    Returns:
        (B, 2, H, W) float32: channel 0 = 1.0 within `radius` of a positive click, channel 1 negative.
    """
    if points.dim() != 3 or points.shape[1] % 2 or points.shape[2] < 2:
        raise ValueError(f"points must be (B, 2P, 2|3), got {tuple(points.shape)}")
    batch, rows = points.shape[:2]
    device = points.device
    out = torch.zeros(batch, 2, height, width, device=device, dtype=torch.float32)
    centres = points[..., :2].float()                                   # (B, 2P, 2) as (y, x)
    valid = (centres >= 0).all(dim=-1)                                   # (B, 2P)
    if not bool(valid.any()):
        return out
    sample, row = valid.nonzero(as_tuple=True)                           # (N,), (N,)
    channel = torch.div(row, rows // 2, rounding_mode="floor")           # 0 positive, 1 negative
    centre = centres[sample, row]                                        # (N, 2)
    reach = int(math.ceil(float(radius))) + 1
    offsets = torch.arange(-reach, reach + 1, device=device, dtype=torch.float32)
    cand_y = (centre[:, 0].floor().view(-1, 1, 1) + offsets.view(1, -1, 1))  # (N, K, 1) integer-valued
    cand_x = (centre[:, 1].floor().view(-1, 1, 1) + offsets.view(1, 1, -1))  # (N, 1, K)
    inside = ((cand_y - centre[:, 0].view(-1, 1, 1)) ** 2
              + (cand_x - centre[:, 1].view(-1, 1, 1)) ** 2) <= float(radius) ** 2
    inside &= (cand_y >= 0) & (cand_y < height) & (cand_x >= 0) & (cand_x < width)
    plane = (sample * 2 + channel).view(-1, 1, 1)
    flat = (plane * height + cand_y.long()) * width + cand_x.long()      # (N, K, K)
    out.view(-1)[flat[inside]] = 1.0
    return out


def Conv1S(in_ch: int, out_ch: int) -> nn.Sequential:  # noqa: N802 - named as the RITM block
    """Click branch: 1×1 (C→16) → LeakyReLU(0.2) → 3×3 stride 2 (16→out) → ScaleLayer(0.05); its output
    (stride 2) is added to the stem activation (RITM's Conv1S, `inference.networks.ops.conv1s_maps_transform`)."""
    return conv1s_maps_transform(in_ch, out_channels=out_ch)


class SepConvBNReLU(nn.Sequential):
    """Depthwise 3×3 (optionally dilated) → pointwise 1×1 → BN → ReLU."""

    def __init__(self, in_ch: int, out_ch: int, dilation: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_ch, in_ch, 3, padding=dilation, dilation=dilation, groups=in_ch, bias=False),
            nn.Conv2d(in_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class SkipProjection(nn.Sequential):
    """Low-level features (B, in_ch, H/4, W/4) → (B, out_ch, H/4, W/4)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


class InstanceHead(nn.Sequential):
    """Separable 3×3 (in→mid) → 1×1 conv to one logit channel."""

    def __init__(self, in_ch: int, mid_ch: int) -> None:
        super().__init__(SepConvBNReLU(in_ch, mid_ch), nn.Conv2d(mid_ch, 1, 1, bias=True))
