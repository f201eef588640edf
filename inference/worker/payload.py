"""Compact mask payload: the probability map cropped to where it is non-zero, as an 8-bit grey PNG.

The client thresholds locally (any threshold from `MIN_CLIENT_THRESHOLD` up, no model call).
Probabilities at or below `MIN_CLIENT_THRESHOLD` are sent as 0: no threshold the annotator offers can
tell them apart, and a network's faint background (p ≈ 0.001–0.05 everywhere) would otherwise make the
ROI the whole image and the PNG noisy (measured at 4000×3000 with the default network: 307 kB → 70 kB).
Outside the ROI the sent value is 0 by construction, so the crop itself loses nothing at 8-bit precision.

A ROI longer than `MAX_PNG_SIDE` (1024) pixels is sent downscaled (INTER_AREA) so that its longest side is
`MAX_PNG_SIDE`; `roi` still names the full-resolution rectangle and the client stretches the PNG over it
(bilinear). 1024 px is the resolution at which the guided filter fits its coefficients (`GuidedFilterParams.
max_side`) and more than the network's input (longest side 800), so the stretched map differs from the full one
only along edges: on the bench's 4000×3000 first click, 82 of 2.7 million object pixels at threshold 0.49
(44 at 2048 px), for a PNG of 44 kB instead of 171 kB. The PNG is deflated with zlib's run-length strategy
(smaller than the default filters on these maps at the speed of level 1). Alternatives measured and not
adopted: docs/experiments.md, "Live mask payload".
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import cv2
import numpy as np

PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
# The annotator's threshold slider starts at 0.05 (frontend/templates/labeling/annotate.html), and a pixel
# shows as object when q / 255 > threshold: every q ≤ FLOOR_Q is background at every offered threshold.
MIN_CLIENT_THRESHOLD = 0.05
FLOOR_Q = int(MIN_CLIENT_THRESHOLD * 255)  # 12
MAX_PNG_SIDE = 1024


@dataclass(frozen=True)
class RoiPng:
    """An 8-bit PNG of probability×255 inside `roi`; (x, y) is the top-left pixel in the image; the PNG is
    width×height pixels, or smaller with the same aspect ratio when the ROI exceeds `MAX_PNG_SIDE`."""

    x: int
    y: int
    width: int
    height: int
    png: bytes

    def as_message(self) -> dict:
        """The `roi` and `png` fields of the websocket `mask` message."""
        return {"roi": {"x": self.x, "y": self.y, "width": self.width, "height": self.height},
                "png": base64.b64encode(self.png).decode("ascii")}


def quantise(probs: np.ndarray) -> np.ndarray:
    """float (H, W) probabilities in [0, 1] -> uint8 (H, W) round(p × 255), saturated."""
    if probs.ndim != 2:
        raise ValueError(f"probability map must be 2-D (H, W), got shape {probs.shape}")
    return cv2.convertScaleAbs(np.asarray(probs, dtype=np.float32), alpha=255.0)


def encode_roi_png(probs: np.ndarray) -> RoiPng:
    """float32 (H, W) probability map -> RoiPng of the bounding box of the pixels with q > FLOOR_Q (those at
    or below are sent as 0), downscaled to `MAX_PNG_SIDE` if longer; a 1×1 zero PNG when there is none."""
    q = quantise(probs)
    q[q <= FLOOR_Q] = 0
    points = cv2.findNonZero(q)
    if points is None:
        x, y, w, h = 0, 0, 1, 1
    else:
        x, y, w, h = (int(v) for v in cv2.boundingRect(points))
    crop = np.ascontiguousarray(q[y:y + h, x:x + w])
    if max(w, h) > MAX_PNG_SIDE:
        scale = MAX_PNG_SIDE / max(w, h)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", crop, PNG_PARAMS)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return RoiPng(x=x, y=y, width=w, height=h, png=buf.tobytes())


def decode_roi_png(message: dict, height: int, width: int) -> np.ndarray:
    """Inverse for tests and tools: a `mask` message -> uint8 (height, width) full-size map (a downscaled PNG
    is stretched over its ROI with bilinear interpolation, as the browser client does)."""
    roi = message["roi"]
    data = np.frombuffer(base64.b64decode(message["png"]), dtype=np.uint8)
    crop = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if crop is None or crop.ndim != 2:
        raise ValueError("mask PNG cannot be decoded as 8-bit grey")
    if crop.shape != (roi["height"], roi["width"]):
        if max(crop.shape) != MAX_PNG_SIDE or max(roi["height"], roi["width"]) <= MAX_PNG_SIDE:
            raise ValueError("PNG does not match the ROI size")
        crop = cv2.resize(crop, (roi["width"], roi["height"]), interpolation=cv2.INTER_LINEAR)
    full = np.zeros((height, width), dtype=np.uint8)
    full[roi["y"]:roi["y"] + roi["height"], roi["x"]:roi["x"] + roi["width"]] = crop
    return full
