"""Box helpers for ZoomIn, with the reference's exact rounding (spec §2.3).

Boxes are `(rmin, rmax, cmin, cmax)` inclusive, in (row, col) order internally because the fixtures record
ROIs that way; the session converts to (x0, y0, x1, y1) for the public API.
"""
from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]


def bbox_from_mask(mask: np.ndarray) -> Box:
    """Inclusive bounding box `(rmin, rmax, cmin, cmax)` of a non-empty bool (H, W) mask."""
    rows = np.flatnonzero(np.any(mask, axis=1))
    cols = np.flatnonzero(np.any(mask, axis=0))
    if rows.size == 0:
        raise ValueError("bounding box of an empty mask")
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def expand_bbox(box: Box, ratio: float, min_size: float | None = None) -> Box:
    """Scale a box about its centre by `ratio` (height/width at least `min_size`); borders rounded with
    Python's banker's `round`, exactly as the reference (so .5 borders go to the even integer)."""
    rmin, rmax, cmin, cmax = box
    rcenter, ccenter = 0.5 * (rmin + rmax), 0.5 * (cmin + cmax)
    height, width = ratio * (rmax - rmin + 1), ratio * (cmax - cmin + 1)
    if min_size is not None:
        height, width = max(height, min_size), max(width, min_size)
    return (int(round(rcenter - 0.5 * height)), int(round(rcenter + 0.5 * height)),
            int(round(ccenter - 0.5 * width)), int(round(ccenter + 0.5 * width)))


def clamp_bbox(box: Box, height: int, width: int) -> Box:
    """Clamp a box to an image of `height` × `width` pixels."""
    return max(0, box[0]), min(height - 1, box[1]), max(0, box[2]), min(width - 1, box[3])


def segments_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """1-D IoU of two inclusive integer segments."""
    intersection = max(0, min(a[1], b[1]) - max(a[0], b[0]) + 1)
    union = max(1e-6, max(a[1], b[1]) - min(a[0], b[0]) + 1)
    return intersection / union


def bbox_iou(a: Box, b: Box) -> float:
    """Box "IoU" as the reference computes it: product of the row and column segment IoUs."""
    return segments_iou(a[:2], b[:2]) * segments_iou(a[2:], b[2:])
