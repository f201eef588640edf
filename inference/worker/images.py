"""Decoding inputs on the worker: the image (a local file, or bytes downloaded from a URL when media live on
S3) and an existing annotation's RLE mask."""
from __future__ import annotations

import io
import os
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np
from PIL import Image

DEFAULT_MAX_PIXELS = 50_000_000
ENV_MAX_BYTES = "CLICKLABEL_MAX_UPLOAD_BYTES"   # the web side's upload limit bounds every stored image
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
FETCH_TIMEOUT_S = 30.0


class ImageLoadError(ValueError):
    """The image file is missing, unreadable or larger than allowed."""


def fetch_bytes(url: str, max_bytes: int | None = None, timeout_s: float = FETCH_TIMEOUT_S) -> bytes:
    """GET an http(s) `url` (a presigned storage URL) -> its body; ImageLoadError when the request fails, the
    scheme is not http(s) or the body exceeds `max_bytes` (default $CLICKLABEL_MAX_UPLOAD_BYTES, else 50 MB).
    The error names the host only: presigned query strings are credentials."""
    limit = max_bytes if max_bytes is not None else int(os.environ.get(ENV_MAX_BYTES, DEFAULT_MAX_BYTES))
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ImageLoadError(f"cannot fetch an image over {parts.scheme or 'no scheme'!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body = response.read(limit + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ImageLoadError(f"cannot fetch the image from {parts.netloc}: {exc}") from exc
    if len(body) > limit:
        raise ImageLoadError(f"the image at {parts.netloc} exceeds {limit} bytes")
    return body


def load_rgb(source: str | bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image (a file path, or the file's bytes) -> uint8 (H, W, 3) RGB; refuses more than `max_pixels`
    pixels."""
    what = repr(source) if isinstance(source, str) else f"<{len(source)} bytes>"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source if isinstance(source, str) else io.BytesIO(source)) as img:
                if img.width * img.height > max_pixels:
                    raise ImageLoadError(f"{img.width}x{img.height} exceeds {max_pixels} pixels")
                return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))
    except ImageLoadError:
        raise
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageLoadError(f"cannot read image {what}: {exc}") from exc


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
