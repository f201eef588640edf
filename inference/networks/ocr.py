"""Object-contextual representation (OCR) modules of HRNet-OCR (key layout of the RITM / f-BRS code)."""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def _bn_relu(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


class SpatialGather(nn.Module):
    """Soft object regions → region representations.

    feats (B, C, H, W), region logits (B, K, H, W) → (B, C, K, 1): softmax over all pixels of each region
    channel, then the weighted sum of the features.
    """

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, feats: Tensor, probs: Tensor) -> Tensor:
        batch, regions = probs.shape[0], probs.shape[1]
        probs = probs.view(batch, regions, -1)
        feats = feats.view(batch, feats.shape[1], -1).permute(0, 2, 1)
        probs = F.softmax(self.scale * probs, dim=2)
        return torch.matmul(probs, feats).permute(0, 2, 1).unsqueeze(3)


def _key_transform(in_channels: int, key_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, key_channels, kernel_size=1, bias=False),
        _bn_relu(key_channels),
        nn.Conv2d(key_channels, key_channels, kernel_size=1, bias=False),
        _bn_relu(key_channels),
    )


class ObjectAttentionBlock(nn.Module):
    """Pixel-to-region attention: query f_pixel(x), key f_object(proxy), value f_down(proxy), out f_up."""

    def __init__(self, in_channels: int, key_channels: int) -> None:
        super().__init__()
        self.key_channels = key_channels
        self.f_pixel = _key_transform(in_channels, key_channels)
        self.f_object = _key_transform(in_channels, key_channels)
        self.f_down = nn.Sequential(nn.Conv2d(in_channels, key_channels, kernel_size=1, bias=False),
                                    _bn_relu(key_channels))
        self.f_up = nn.Sequential(nn.Conv2d(key_channels, in_channels, kernel_size=1, bias=False),
                                  _bn_relu(in_channels))

    def forward(self, x: Tensor, proxy: Tensor) -> Tensor:
        """x (B, C, H, W), proxy (B, C, K, 1) → context (B, C, H, W)."""
        batch = x.shape[0]
        query = self.f_pixel(x).view(batch, self.key_channels, -1).permute(0, 2, 1)
        key = self.f_object(proxy).view(batch, self.key_channels, -1)
        value = self.f_down(proxy).view(batch, self.key_channels, -1).permute(0, 2, 1)
        sim_map = (self.key_channels ** -0.5) * torch.matmul(query, key)
        sim_map = F.softmax(sim_map, dim=-1)
        context = torch.matmul(sim_map, value).permute(0, 2, 1).contiguous()
        context = context.view(batch, self.key_channels, *x.shape[2:])
        return self.f_up(context)


class SpatialOCR(nn.Module):
    """Object attention context, concatenated with the features → Conv1x1 → BN → ReLU → Dropout2d."""

    def __init__(self, in_channels: int, key_channels: int, out_channels: int, dropout: float = 0.05) -> None:
        super().__init__()
        self.object_context_block = ObjectAttentionBlock(in_channels, key_channels)
        self.conv_bn_dropout = nn.Sequential(
            nn.Conv2d(2 * in_channels, out_channels, kernel_size=1, bias=False),
            _bn_relu(out_channels),
            nn.Dropout2d(dropout),
        )

    def forward(self, feats: Tensor, proxy: Tensor) -> Tensor:
        """feats (B, C, H, W), proxy (B, C, K, 1) → (B, out_channels, H, W)."""
        context = self.object_context_block(feats, proxy)
        return self.conv_bn_dropout(torch.cat([context, feats], dim=1))
