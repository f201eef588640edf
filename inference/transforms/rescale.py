"""Resize a transformed network input and its clicks by one factor (the extra scales of `tta_scales`)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from inference.clicks import Click


def rescale_input(image: torch.Tensor, click_lists: Sequence[Sequence[Click]], scale: float
                  ) -> tuple[torch.Tensor, list[list[Click]]]:
    """(B, C, H, W) network input (image channels plus the previous mask) resized bilinearly
    (align_corners=True) to (round(H·scale), round(W·scale)), at least 2 × 2, and every list of (x, y) clicks
    mapped the way ZoomIn maps clicks into its crop: x' = x·W'/W, y' = y·H'/H."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    height, width = image.shape[2], image.shape[3]
    new_height, new_width = max(2, int(round(height * scale))), max(2, int(round(width * scale)))
    resized = F.interpolate(image, size=(new_height, new_width), mode="bilinear", align_corners=True)
    sx, sy = new_width / width, new_height / height
    return resized, [[c.moved(x=c.x * sx, y=c.y * sy) for c in clicks] for clicks in click_lists]
