"""Decoding inputs on the worker: the image file and an existing annotation's RLE mask."""
from __future__ import annotations

import warnings

import numpy as np
from PIL import Image

DEFAULT_MAX_PIXELS = 50_000_000


class ImageLoadError(ValueError):
    """The image file is missing, unreadable or larger than allowed."""


def load_rgb(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file -> uint8 (H, W, 3) RGB; refuses more than `max_pixels` pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > max_pixels:
                    raise ImageLoadError(f"{img.width}x{img.height} exceeds {max_pixels} pixels")
                return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))
    except ImageLoadError:
        raise
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageLoadError(f"cannot read image {path!r}: {exc}") from exc


def rle_to_float_mask(rle: dict, height: int, width: int) -> np.ndarray:
    """COCO RLE {"size": [H, W], "counts": str | list} -> float32 (H, W) mask of 0/1."""
    from pycocotools import mask as mask_utils

    if list(rle.get("size", [])) != [height, width]:
        raise ValueError(f"previous mask size {rle.get('size')} differs from the image {height}x{width}")
    counts = rle["counts"]
    if isinstance(counts, list):
        rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    else:
        rle = {"size": [height, width], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return mask_utils.decode(rle).astype(np.float32)
