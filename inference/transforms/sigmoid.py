"""SigmoidForPred: logits → probabilities on the way back (spec §2.2)."""
from __future__ import annotations

import torch

from inference.transforms.base import Transform


class SigmoidForPred(Transform):
    """Identity forward; inverse applies the sigmoid (after the flip average of logits, before zoom paste)."""

    def inv_transform(self, output: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) logits → probabilities of the same shape."""
        return torch.sigmoid(output)
