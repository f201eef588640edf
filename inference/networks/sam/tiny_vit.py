"""TinyViT-5M image encoder in MobileSAM's layout: 1024 × 1024 normalised RGB → (B, 256, 64, 64) embedding.

Structure (read from ``encoder.onnx``; BatchNorm already folded into the convolutions, so every
``Conv2d_BN`` of the original is one biased ``nn.Conv2d`` here):

* ``patch_embed``: 3×3 s2 conv 3→32, GELU, 3×3 s2 conv 32→64 (1024 → 256 px);
* ``layers.0``: two MBConv blocks (64 → 256 → 64, depthwise 3×3), then patch merging to 128 ch, 128 px;
* ``layers.1..3``: TinyViT blocks (windowed self-attention with learned relative-position biases,
  residual, depthwise 3×3 "local conv", residual MLP), 128 / 160 / 320 channels, 4 / 5 / 10 heads of 32,
  windows 7 / 14 / 7, depths 2 / 6 / 2; patch merging after layers 1 (s2, 64 px) and 2 (s1, MobileSAM's
  change, so the last stage stays at 64 px);
* ``neck``: 1×1 conv 320→256, LayerNorm2d, 3×3 conv 256→256, LayerNorm2d.

GELU is the exact (erf) form; windows are zero-padded at the bottom / right and the padded tokens take part
in attention, as in TinyViT.
"""
from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["LayerNorm2d", "TinyViT", "TINY_VIT_5M"]

# MobileSAM's TinyViT-5M configuration.
TINY_VIT_5M = dict(embed_dims=(64, 128, 160, 320), depths=(2, 2, 6, 2), num_heads=(2, 4, 5, 10),
                   window_sizes=(7, 7, 14, 7), mlp_ratio=4.0, mbconv_expand_ratio=4.0, out_chans=256)


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of a (B, C, H, W) map (SAM's ``LayerNorm2d``)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A BatchNorm-folded ``Conv2d_BN``: conv with bias, 'same' padding for odd kernels."""
    return nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups, bias=True)


class PatchEmbed(nn.Module):
    """(B, 3, H, W) → (B, C, H/4, W/4): two 3×3 stride-2 convs with GELU between."""

    def __init__(self, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.seq = nn.Sequential(_conv(in_chans, embed_dim // 2, 3, 2), nn.GELU(),
                                 _conv(embed_dim // 2, embed_dim, 3, 2))

    def forward(self, x: Tensor) -> Tensor:
        return self.seq(x)


class MBConv(nn.Module):
    """Inverted residual: 1×1 expand, GELU, depthwise 3×3, GELU, 1×1 project, + input, GELU. (B, C, H, W)."""

    def __init__(self, channels: int, expand_ratio: float) -> None:
        super().__init__()
        hidden = int(channels * expand_ratio)
        self.conv1 = _conv(channels, hidden, 1)
        self.conv2 = _conv(hidden, hidden, 3, groups=hidden)
        self.conv3 = _conv(hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        y = F.gelu(self.conv1(x))
        y = F.gelu(self.conv2(y))
        return F.gelu(self.conv3(y) + x)


class PatchMerging(nn.Module):
    """(B, C, H, W) or tokens (B, H·W, C) → tokens (B, H'·W', C') with H' = ceil(H / stride):
    1×1 conv, GELU, depthwise 3×3 conv with `stride`, GELU, 1×1 conv."""

    def __init__(self, dim: int, out_dim: int, stride: int) -> None:
        super().__init__()
        self.conv1 = _conv(dim, out_dim, 1)
        self.conv2 = _conv(out_dim, out_dim, 3, stride, groups=out_dim)
        self.conv3 = _conv(out_dim, out_dim, 1)

    def forward(self, x: Tensor, hw: tuple[int, int]) -> tuple[Tensor, tuple[int, int]]:
        if x.dim() == 3:
            x = x.view(x.shape[0], hw[0], hw[1], -1).permute(0, 3, 1, 2)
        x = F.gelu(self.conv1(x))
        x = F.gelu(self.conv2(x))
        x = self.conv3(x)
        out_hw = (x.shape[2], x.shape[3])
        return x.flatten(2).transpose(1, 2), out_hw


def relative_offset_index(window: int) -> tuple[int, Tensor]:
    """TinyViT's bias table layout for a window × window grid: (number of distinct |Δrow|, |Δcol| offsets,
    (N, N) index of each token pair's offset), N = window², offsets numbered in order of first appearance."""
    points = list(itertools.product(range(window), range(window)))
    offsets: dict[tuple[int, int], int] = {}
    idxs = []
    for p1 in points:
        for p2 in points:
            offset = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
            if offset not in offsets:
                offsets[offset] = len(offsets)
            idxs.append(offsets[offset])
    n = len(points)
    return len(offsets), torch.tensor(idxs, dtype=torch.long).view(n, n)


class WindowAttention(nn.Module):
    """Multi-head self-attention over one window's tokens (B, N, C), N = window²: LayerNorm, qkv
    (per head [q, k, v] interleaved), softmax(q·kᵀ/√d + bias), projection. `attention_biases` is
    (heads, number of relative offsets), gathered to (heads, N, N)."""

    def __init__(self, dim: int, key_dim: int, num_heads: int, window: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.scale = key_dim ** -0.5
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * key_dim * num_heads)
        self.proj = nn.Linear(key_dim * num_heads, dim)
        num_offsets, idxs = relative_offset_index(window)
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, num_offsets))
        self.register_buffer("attention_bias_idxs", idxs, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        batch, n, _ = x.shape
        x = self.norm(x)
        qkv = self.qkv(x).view(batch, n, self.num_heads, 3 * self.key_dim)
        q, k, v = qkv.split(self.key_dim, dim=3)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, heads, N, d)
        bias = self.attention_biases[:, self.attention_bias_idxs]  # (heads, N, N)
        # softmax(q·kᵀ · scale + bias) · v, fused
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)
        return self.proj(out.transpose(1, 2).reshape(batch, n, self.num_heads * self.key_dim))


class TokenMlp(nn.Module):
    """LayerNorm, Linear, GELU, Linear on tokens (B, N, C)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(self.norm(x))))


class TinyViTBlock(nn.Module):
    """Tokens (B, H·W, C) → same: x + window attention; depthwise 3×3 conv on the (H, W) map; x + MLP."""

    def __init__(self, dim: int, num_heads: int, window: int, mlp_ratio: float) -> None:
        super().__init__()
        self.window = window
        self.attn = WindowAttention(dim, dim // num_heads, num_heads, window)
        self.local_conv = _conv(dim, dim, 3, groups=dim)
        self.mlp = TokenMlp(dim, int(dim * mlp_ratio))

    def _windowed_attention(self, x: Tensor, hw: tuple[int, int]) -> Tensor:
        batch, length, channels = x.shape
        height, width = hw
        ws = self.window
        if height == ws and width == ws:
            return self.attn(x)
        x = x.view(batch, height, width, channels)
        pad_b, pad_r = (ws - height % ws) % ws, (ws - width % ws) % ws
        if pad_b or pad_r:
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        ph, pw = height + pad_b, width + pad_r
        nh, nw = ph // ws, pw // ws
        x = x.view(batch, nh, ws, nw, ws, channels).transpose(2, 3).reshape(batch * nh * nw, ws * ws, channels)
        x = self.attn(x)
        x = x.view(batch, nh, nw, ws, ws, channels).transpose(2, 3).reshape(batch, ph, pw, channels)
        return x[:, :height, :width].reshape(batch, length, channels)

    def forward(self, x: Tensor, hw: tuple[int, int]) -> Tensor:
        batch, length, channels = x.shape
        x = x + self._windowed_attention(x, hw)
        x = x.transpose(1, 2).reshape(batch, channels, hw[0], hw[1])
        x = self.local_conv(x).view(batch, channels, length).transpose(1, 2)
        return x + self.mlp(x)


class ConvLayer(nn.Module):
    """Stage 0: MBConv blocks on (B, C, H, W), then patch merging to tokens."""

    def __init__(self, dim: int, out_dim: int, depth: int, expand_ratio: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(MBConv(dim, expand_ratio) for _ in range(depth))
        self.downsample = PatchMerging(dim, out_dim, stride=2)

    def forward(self, x: Tensor, hw: tuple[int, int]) -> tuple[Tensor, tuple[int, int]]:
        for block in self.blocks:
            x = block(x)
        return self.downsample(x, hw)


class BasicLayer(nn.Module):
    """Stages 1–3: TinyViT blocks on tokens (B, H·W, C), then optional patch merging."""

    def __init__(self, dim: int, depth: int, num_heads: int, window: int, mlp_ratio: float,
                 out_dim: int | None, merge_stride: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(TinyViTBlock(dim, num_heads, window, mlp_ratio) for _ in range(depth))
        self.downsample = PatchMerging(dim, out_dim, merge_stride) if out_dim is not None else None

    def forward(self, x: Tensor, hw: tuple[int, int]) -> tuple[Tensor, tuple[int, int]]:
        for block in self.blocks:
            x = block(x, hw)
        if self.downsample is not None:
            x, hw = self.downsample(x, hw)
        return x, hw


class TinyViT(nn.Module):
    """(B, 3, S, S) normalised RGB (S = 1024 for SAM) → image embedding (B, out_chans, S/16, S/16).

    Named stage outputs are available through :meth:`forward_stages` (the last entry is the embedding)."""

    def __init__(self, embed_dims: tuple[int, ...] = TINY_VIT_5M["embed_dims"],
                 depths: tuple[int, ...] = TINY_VIT_5M["depths"],
                 num_heads: tuple[int, ...] = TINY_VIT_5M["num_heads"],
                 window_sizes: tuple[int, ...] = TINY_VIT_5M["window_sizes"],
                 mlp_ratio: float = 4.0, mbconv_expand_ratio: float = 4.0, out_chans: int = 256) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(3, embed_dims[0])
        layers: list[nn.Module] = [ConvLayer(embed_dims[0], embed_dims[1], depths[0], mbconv_expand_ratio)]
        last = len(embed_dims) - 1
        for i in range(1, len(embed_dims)):
            out_dim = embed_dims[i + 1] if i < last else None
            # MobileSAM keeps the last merge at stride 1 so the embedding stays at S/16.
            stride = 1 if out_dim is not None and i + 1 == last else 2
            layers.append(BasicLayer(embed_dims[i], depths[i], num_heads[i], window_sizes[i], mlp_ratio,
                                     out_dim, stride))
        self.layers = nn.ModuleList(layers)
        self.neck = nn.Sequential(
            nn.Conv2d(embed_dims[-1], out_chans, 1, bias=False), LayerNorm2d(out_chans),
            nn.Conv2d(out_chans, out_chans, 3, padding=1, bias=False), LayerNorm2d(out_chans),
        )

    def forward_stages(self, image: Tensor) -> dict[str, Tensor]:
        """Stage outputs as (B, C, h, w) maps: ``stem``, ``layers.0`` … ``layers.3`` and ``embedding``."""
        x = self.patch_embed(image)
        out = {"stem": x}
        hw = (x.shape[2], x.shape[3])
        for i, layer in enumerate(self.layers):
            x, hw = layer(x, hw)
            out[f"layers.{i}"] = x.transpose(1, 2).reshape(x.shape[0], -1, hw[0], hw[1])
        out["embedding"] = self.neck(out[f"layers.{len(self.layers) - 1}"])
        return out

    def forward(self, image: Tensor) -> Tensor:
        x = self.patch_embed(image)
        hw = (x.shape[2], x.shape[3])
        for layer in self.layers:
            x, hw = layer(x, hw)
        x = x.transpose(1, 2).reshape(x.shape[0], -1, hw[0], hw[1])
        return self.neck(x)
