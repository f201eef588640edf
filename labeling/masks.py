"""Binary masks <-> COCO RLE, COCO segmentations (RLE or polygons) to masks, and parsing of the mask
payloads the API accepts.

Masks are numpy bool arrays of shape (H, W) (row = y, column = x). RLE follows COCO / pycocotools:
`{"size": [H, W], "counts": <str>}` for compressed RLE, column-major (Fortran) run lengths; the
uncompressed form has `counts` as a list of ints (first run = zeros).
"""
from __future__ import annotations

import base64
import binascii
import io
import math
from typing import Any

import numpy as np
from PIL import Image as PILImage
from pycocotools import mask as coco_mask

from labeling.errors import ClickLabelError

MAX_PNG_BYTES = 32 * 1024 * 1024
MAX_POLYGON_POINTS = 1_000_000


class InvalidMask(ClickLabelError):
    """A mask payload that cannot be decoded or does not fit the image (HTTP 400)."""

    status = 400
    code = "invalid_mask"


def mask_to_rle(mask: np.ndarray) -> dict:
    """Encode a bool (H, W) mask as compressed COCO RLE `{"size": [H, W], "counts": str}`."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise InvalidMask(f"mask must be 2-D (H, W), got shape {arr.shape}")
    encoded = coco_mask.encode(np.asfortranarray(arr.astype(np.uint8)))
    counts = encoded["counts"]
    return {"size": [int(encoded["size"][0]), int(encoded["size"][1])],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def _to_coco_object(rle: dict) -> dict:
    """Validate an RLE dict and return the pycocotools form (compressed, counts as bytes)."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise InvalidMask('RLE must be an object with "size" and "counts"')
    size = rle["size"]
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise InvalidMask('RLE "size" must be [height, width] with positive integers')
    height, width = int(size[0]), int(size[1])
    counts = rle["counts"]
    if isinstance(counts, str):
        return {"size": [height, width], "counts": counts.encode("ascii", errors="strict")}
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise InvalidMask("uncompressed RLE counts must be non-negative integers")
        if sum(counts) != height * width:
            raise InvalidMask(f"uncompressed RLE counts sum to {sum(counts)}, expected {height * width}")
        return coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    raise InvalidMask('RLE "counts" must be a string (compressed) or a list of ints (uncompressed)')


def rle_to_mask(rle: dict) -> np.ndarray:
    """Decode compressed or uncompressed COCO RLE to a bool (H, W) mask."""
    obj = _to_coco_object(rle)
    try:
        decoded = coco_mask.decode(obj)
    except Exception as exc:  # pycocotools raises bare exceptions on corrupt counts
        raise InvalidMask(f"corrupt RLE counts: {exc}") from exc
    height, width = obj["size"]
    if decoded.shape != (height, width):
        raise InvalidMask("corrupt RLE counts: decoded size does not match")
    return decoded.astype(bool)


def rle_area(rle: dict) -> int:
    """Number of foreground pixels of an RLE mask."""
    return int(coco_mask.area(_to_coco_object(rle)))


def rle_bbox(rle: dict) -> list[int]:
    """COCO bbox `[x, y, width, height]` (ints, image pixels) of an RLE mask; zeros if empty."""
    x, y, w, h = coco_mask.toBbox(_to_coco_object(rle)).tolist()
    return [int(round(x)), int(round(y)), int(round(w)), int(round(h))]


def segmentation_to_mask(segmentation: Any, *, height: int, width: int) -> np.ndarray:
    """Decode a COCO segmentation (RLE dict, or a list of flat `[x0, y0, x1, y1, ...]` polygons in
    pixel-corner coordinates, merged) to a bool (height, width) mask; raises InvalidMask."""
    if isinstance(segmentation, dict):
        if list(segmentation.get("size", [])) != [height, width]:
            raise InvalidMask(f"RLE size {segmentation.get('size')} does not match the image ({height}, {width}).")
        return rle_to_mask(segmentation)
    if isinstance(segmentation, list) and segmentation:
        polygons = []
        for polygon in segmentation:
            ok = (isinstance(polygon, list) and len(polygon) >= 6 and len(polygon) % 2 == 0
                  and len(polygon) <= 2 * MAX_POLYGON_POINTS
                  and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                          for v in polygon))
            if not ok:
                raise InvalidMask("each polygon must be a flat list of at least 3 (x, y) number pairs.")
            polygons.append([float(v) for v in polygon])
        rles = coco_mask.frPyObjects(polygons, height, width)
        return coco_mask.decode(coco_mask.merge(rles)).astype(bool)
    raise InvalidMask("segmentation must be an RLE object or a non-empty list of polygons.")


def _png_to_mask(data: Any) -> np.ndarray:
    if not isinstance(data, str):
        raise InvalidMask('"png" must be a base64 string')
    if data.startswith("data:"):
        data = data.split(",", 1)[-1]
    if len(data) > MAX_PNG_BYTES * 4 // 3 + 4:
        raise InvalidMask("PNG mask too large")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidMask(f"invalid base64 in png: {exc}") from exc
    try:
        with PILImage.open(io.BytesIO(raw)) as img:
            if img.format != "PNG":
                raise InvalidMask(f"expected a PNG, got {img.format}")
            arr = np.asarray(img.convert("L"))
    except InvalidMask:
        raise
    except Exception as exc:
        raise InvalidMask(f"cannot decode PNG mask: {exc}") from exc
    return arr >= 128


def parse_mask_payload(payload: Any, height: int, width: int) -> np.ndarray:
    """Decode an API mask payload into a bool (H, W) mask that must match the image size.

    Accepted forms: compressed RLE (`counts` str), uncompressed RLE (`counts` list of ints,
    column-major as COCO), or `{"png": base64}` (grey or RGB PNG, pixel >= 128 is foreground).
    Raises InvalidMask (400) on anything else or on a size mismatch.
    """
    if not isinstance(payload, dict):
        raise InvalidMask("mask must be an object (RLE or {\"png\": base64})")
    if "png" in payload:
        mask = _png_to_mask(payload["png"])
    elif "counts" in payload:
        mask = rle_to_mask(payload)
    else:
        raise InvalidMask('mask must carry "counts" (RLE) or "png"')
    if mask.shape != (height, width):
        raise InvalidMask(f"mask is {mask.shape[1]}x{mask.shape[0]} (WxH), image is {width}x{height}",
                          details={"mask_size": [int(mask.shape[0]), int(mask.shape[1])],
                                   "image_size": [height, width]})
    return mask
