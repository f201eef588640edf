"""Small building blocks shared by the click networks: click maps, scale layer, image normalisation and the
three ways click maps are fused with the image (RITM Conv1S, RITM rgb_conv, f-BRS DMF).

Numerics follow the reference implementations operation by operation (same float32 operation order), so
that outputs match the parity fixtures to float32 round-off.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

# Squared normalised distance given to a padding point (-1, -1): far beyond any real pixel.
_INVALID_SQ_DIST = 1e6


def click_maps(points: torch.Tensor, rows: int, cols: int, norm_radius: float, *,
               use_disks: bool, spatial_scale: float = 1.0) -> torch.Tensor:
    """Positive / negative click maps from a points tensor.

    Args:
        points: (B, 2P, 2|3) float tensor, rows (y, x[, index]); the first P rows are positive clicks, the
            next P negative clicks; padding rows have max(y, x) < 0. A third column (click index) is ignored.
        rows, cols: output height H and width W (network-input pixels).
        norm_radius: disk radius in pixels (``use_disks``) or distance normalisation (distance maps).
        use_disks: True → RITM binary disks: 1.0 where the squared distance to the nearest click of that
            polarity is ≤ (norm_radius·spatial_scale)², else 0.0. False → f-BRS distance maps
            tanh(2·d / (norm_radius·spatial_scale)), 0 at a click, → 1 far away; a polarity without any
            click gives 1.0 everywhere (its squared normalised distance is 1e6).
        spatial_scale: factor applied to click coordinates and the radius.

    Returns:
        float32 (B, 2, H, W): channel 0 positive, channel 1 negative.
    """
    if points.dim() != 3 or points.shape[2] not in (2, 3) or points.shape[1] % 2 != 0:
        raise ValueError(f"points must have shape (B, 2P, 2|3), got {tuple(points.shape)}")
    if rows <= 0 or cols <= 0:
        raise ValueError(f"map size must be positive, got {rows}x{cols}")
    batch = points.shape[0]
    num_points = points.shape[1] // 2
    device = points.device
    if num_points == 0:
        fill = 0.0 if use_disks else 1.0
        return torch.full((batch, 2, rows, cols), fill, dtype=torch.float32, device=device)

    # (B, 2, P, 2): polarity, click slot, (y, x). One click slot at a time keeps memory at O(B·2·H·W);
    # the per-element float32 operations ((c − p)·s / r)², their sum and the min are those of the reference,
    # so the result is bitwise the same as materialising all points at once.
    yx = points[:, :, :2].float().view(batch, 2, num_points, 2) * spatial_scale
    invalid = torch.max(yx, dim=3)[0] < 0
    row_range = torch.arange(rows, dtype=torch.float32, device=device).view(1, 1, rows, 1)
    col_range = torch.arange(cols, dtype=torch.float32, device=device).view(1, 1, 1, cols)
    sq_dist: torch.Tensor | None = None
    for slot in range(num_points):
        dy = row_range - yx[:, :, slot, 0].view(batch, 2, 1, 1)
        dx = col_range - yx[:, :, slot, 1].view(batch, 2, 1, 1)
        if not use_disks:
            dy = dy.div_(norm_radius * spatial_scale)
            dx = dx.div_(norm_radius * spatial_scale)
        current = dy * dy + dx * dx
        current = current.masked_fill_(invalid[:, :, slot].view(batch, 2, 1, 1), _INVALID_SQ_DIST)
        sq_dist = current if sq_dist is None else torch.minimum(sq_dist, current)
    assert sq_dist is not None
    if use_disks:
        return (sq_dist <= (norm_radius * spatial_scale) ** 2).float()
    return sq_dist.sqrt_().mul_(2).tanh_()


class ClickMaps(nn.Module):
    """Module wrapper of :func:`click_maps` (the reference ``DistMaps``); it has no parameters."""

    def __init__(self, norm_radius: float, use_disks: bool, spatial_scale: float = 1.0) -> None:
        super().__init__()
        if norm_radius <= 0:
            raise ValueError(f"norm_radius must be positive, got {norm_radius}")
        self.norm_radius = float(norm_radius)
        self.use_disks = bool(use_disks)
        self.spatial_scale = float(spatial_scale)

    def forward(self, image: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) image (only its size is used) + points (B, 2P, 2|3) → (B, 2, H, W) click maps."""
        return click_maps(points, image.shape[2], image.shape[3], self.norm_radius,
                          use_disks=self.use_disks, spatial_scale=self.spatial_scale)

    def extra_repr(self) -> str:
        return f"norm_radius={self.norm_radius}, use_disks={self.use_disks}"


class ScaleLayer(nn.Module):
    """Multiplies its input by |scale · lr_mult| (one learnt scalar; state_dict key ``scale``)."""

    def __init__(self, init_value: float = 1.0, lr_mult: float = 1.0) -> None:
        super().__init__()
        self.lr_mult = lr_mult
        self.scale = nn.Parameter(torch.full((1,), init_value / lr_mult, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Any shape → same shape."""
        return x * torch.abs(self.scale * self.lr_mult)


class BatchImageNormalize(nn.Module):
    """(x − mean) / std per channel on (B, 3, H, W) float tensors; mean/std are non-persistent buffers,
    so the module adds no state_dict keys (like the reference, which is not a module)."""

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        super().__init__()
        if len(mean) != len(std):
            raise ValueError("mean and std must have the same length")
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32)[None, :, None, None],
                             persistent=False)
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32)[None, :, None, None],
                             persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → normalised copy (B, C, H, W)."""
        if image.dim() != 4 or image.shape[1] != self.mean.shape[1]:
            raise ValueError(f"expected (B, {self.mean.shape[1]}, H, W) image, got {tuple(image.shape)}")
        return (image - self.mean).div_(self.std)


def activation(leaky: bool) -> nn.Module:
    """LeakyReLU(0.2) when ``leaky`` else ReLU (the RITM ``use_leaky_relu`` switch)."""
    return nn.LeakyReLU(negative_slope=0.2) if leaky else nn.ReLU(inplace=True)


def conv1s_maps_transform(in_channels: int, leaky: bool = True, out_channels: int = 64) -> nn.Sequential:
    """RITM Conv1S click-map encoder: Conv1x1(C→16) → act → Conv3x3/2(16→out) → ScaleLayer(0.05).

    Input (B, C, H, W) click maps; output (B, out, ⌈H/2⌉, ⌈W/2⌉) added after the backbone's first conv.
    Keys: ``0.{weight,bias}``, ``2.{weight,bias}``, ``3.scale``.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, kernel_size=1),
        activation(leaky),
        nn.Conv2d(16, out_channels, kernel_size=3, stride=2, padding=1),
        ScaleLayer(init_value=0.05, lr_mult=1),
    )


def ritm_rgb_conv(coord_channels: int, leaky: bool = True) -> nn.Sequential:
    """RITM ``use_rgb_conv`` fusion: Conv1x1(3+C→6+C) → BN → act → Conv1x1(6+C→3) on concat(image, maps)."""
    mid = 6 + coord_channels
    return nn.Sequential(
        nn.Conv2d(3 + coord_channels, mid, kernel_size=1),
        nn.BatchNorm2d(mid),
        activation(leaky),
        nn.Conv2d(mid, 3, kernel_size=1),
    )


def fbrs_dmf(coord_channels: int = 2) -> nn.Sequential:
    """f-BRS distance-maps-fusion (DMF) block: Conv1x1(5→8) → LeakyReLU(0.2) → BN(8) → Conv1x1(8→3).

    Input concat(normalised RGB, pos map, neg map) (B, 5, H, W) → (B, 3, H, W) that replaces the image.
    """
    return nn.Sequential(
        nn.Conv2d(3 + coord_channels, 8, kernel_size=1),
        nn.LeakyReLU(negative_slope=0.2),
        nn.BatchNorm2d(8),
        nn.Conv2d(8, 3, kernel_size=1),
    )


def conv_extend_maps_transform(in_channels: int) -> nn.Conv2d:
    """RITM ``conv_extend`` click-map encoder: one Conv3x3/2 (C→64) whose output is added like Conv1S."""
    return nn.Conv2d(in_channels, 64, kernel_size=3, stride=2, padding=1)
