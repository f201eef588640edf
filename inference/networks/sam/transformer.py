"""SAM's two-way transformer: prompt tokens and image tokens attend to each other.

Depth 2, width 256, 8 heads, MLP 2048 with ReLU; the cross-attentions work at half width (128).
Token order is the image's row-major (y, x) flattening of the (64, 64) grid.
"""
from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["Attention", "TwoWayAttentionBlock", "TwoWayTransformer"]


class Attention(nn.Module):
    """Multi-head attention with separate q / k / v projections to `embedding_dim / downsample_rate`.

    q (B, Nq, C), k (B, Nk, C), v (B, Nk, C) → (B, Nq, C)."""

    def __init__(self, embedding_dim: int, num_heads: int, downsample_rate: int = 1) -> None:
        super().__init__()
        self.num_heads = num_heads
        internal_dim = embedding_dim // downsample_rate
        self.q_proj = nn.Linear(embedding_dim, internal_dim)
        self.k_proj = nn.Linear(embedding_dim, internal_dim)
        self.v_proj = nn.Linear(embedding_dim, internal_dim)
        self.out_proj = nn.Linear(internal_dim, embedding_dim)

    def _heads(self, x: Tensor) -> Tensor:
        batch, n, channels = x.shape
        return x.view(batch, n, self.num_heads, channels // self.num_heads).transpose(1, 2)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        q, k, v = self._heads(self.q_proj(q)), self._heads(self.k_proj(k)), self._heads(self.v_proj(v))
        out = F.scaled_dot_product_attention(q, k, v)  # softmax(q·kᵀ / √d) · v, (B, heads, Nq, d)
        batch, heads, n, d = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(batch, n, heads * d))


class MLPBlock(nn.Module):
    """Linear, ReLU, Linear."""

    def __init__(self, embedding_dim: int, mlp_dim: int) -> None:
        super().__init__()
        self.lin1 = nn.Linear(embedding_dim, mlp_dim)
        self.lin2 = nn.Linear(mlp_dim, embedding_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.lin2(self.lin1(x).relu())


class TwoWayAttentionBlock(nn.Module):
    """Token self-attention, tokens → image cross-attention, token MLP, image → tokens cross-attention,
    each followed by a LayerNorm. The first block's self-attention sees no positional encoding and has
    no residual (``skip_first_layer_pe``)."""

    def __init__(self, embedding_dim: int, num_heads: int, mlp_dim: int, skip_first_layer_pe: bool) -> None:
        super().__init__()
        self.self_attn = Attention(embedding_dim, num_heads)
        self.norm1 = nn.LayerNorm(embedding_dim)
        self.cross_attn_token_to_image = Attention(embedding_dim, num_heads, downsample_rate=2)
        self.norm2 = nn.LayerNorm(embedding_dim)
        self.mlp = MLPBlock(embedding_dim, mlp_dim)
        self.norm3 = nn.LayerNorm(embedding_dim)
        self.norm4 = nn.LayerNorm(embedding_dim)
        self.cross_attn_image_to_token = Attention(embedding_dim, num_heads, downsample_rate=2)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(self, queries: Tensor, keys: Tensor, query_pe: Tensor, key_pe: Tensor) -> tuple[Tensor, Tensor]:
        """queries (B, Nt, C) prompt tokens, keys (B, H·W, C) image tokens, with their positional
        encodings → updated (queries, keys)."""
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        q, k = queries + query_pe, keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        q, k = queries + query_pe, keys + key_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    """(B, C, H, W) image embedding + (B, C, H, W) its positional encoding + (B, Nt, C) tokens →
    (tokens (B, Nt, C), image tokens (B, H·W, C))."""

    def __init__(self, depth: int = 2, embedding_dim: int = 256, num_heads: int = 8, mlp_dim: int = 2048) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(embedding_dim, num_heads, mlp_dim, skip_first_layer_pe=(i == 0))
            for i in range(depth))
        self.final_attn_token_to_image = Attention(embedding_dim, num_heads, downsample_rate=2)
        self.norm_final_attn = nn.LayerNorm(embedding_dim)

    def forward(self, image_embedding: Tensor, image_pe: Tensor, point_embedding: Tensor) -> tuple[Tensor, Tensor]:
        keys = image_embedding.flatten(2).permute(0, 2, 1)
        key_pe = image_pe.flatten(2).permute(0, 2, 1)
        queries = point_embedding
        for layer in self.layers:
            queries, keys = layer(queries, keys, point_embedding, key_pe)
        q, k = queries + point_embedding, keys + key_pe
        queries = self.norm_final_attn(queries + self.final_attn_token_to_image(q, k, keys))
        return queries, keys
