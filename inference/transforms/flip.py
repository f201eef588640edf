"""AddHorizontalFlip: append a mirrored copy of the batch; average the pair on LOGITS (spec §2.2, §8.1)."""
from __future__ import annotations

from typing import Sequence

import torch

from inference.clicks import Click
from inference.transforms.base import ClickLists, Transform


class AddHorizontalFlip(Transform):
    """Batch `B` → `2B`: [images, flipped images]; clicks mirrored as x' = W − 1 − x."""

    def transform(self, image: torch.Tensor, click_lists: Sequence[Sequence[Click]]
                  ) -> tuple[torch.Tensor, ClickLists]:
        """(B, C, H, W) → (2B, C, H, W); click lists doubled with mirrored copies."""
        if image.dim() != 4:
            raise ValueError(f"expected a (B, C, H, W) image batch, got shape {tuple(image.shape)}")
        width = image.shape[3]
        flipped = [[c.moved(x=width - c.x - 1, y=c.y) for c in clicks] for clicks in click_lists]
        return torch.cat([image, torch.flip(image, dims=[3])], dim=0), [list(c) for c in click_lists] + flipped

    def inv_transform(self, output: torch.Tensor) -> torch.Tensor:
        """(2B, 1, H, W) logits → (B, 1, H, W): 0.5·(out + flip(out_flipped)), still logits."""
        if output.dim() != 4 or output.shape[0] % 2 != 0:
            raise ValueError(f"expected an even (2B, 1, H, W) batch, got shape {tuple(output.shape)}")
        half = output.shape[0] // 2
        return 0.5 * (output[:half] + torch.flip(output[half:], dims=[3]))
