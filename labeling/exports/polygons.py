"""Exact mask → polygon conversion that keeps holes and separate parts.

Coordinates follow COCO: a pixel (x, y) is the unit square [x, x+1] × [y, y+1], so polygon vertices lie
on pixel corners and a polygon that runs along the outline of a mask's pixels rasterises (pycocotools,
centre sampling) back to exactly that mask.

How: the mask is lifted onto a (2H+1, 2W+1) lattice of pixel corners, edge midpoints and centres, where a
lattice point is set when it lies on a foreground pixel's closed square. `cv2.findContours` with
`RETR_CCOMP` on that lattice traces the pixel-edge outlines (halving the coordinates gives corner
coordinates): one outer contour per separate part, each with its holes. COCO polygons have no holes, so
each hole is joined to its outer ring by a zero-width cut (there and back along the same segment); under
the even-odd rule the cut encloses no area and the hole stays empty. Every part becomes one flat list
`[x0, y0, x1, y1, ...]`.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import cKDTree


def mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
    """Polygons of a boolean mask, one per separate part (8-connected), holes bridged in.

    Args:
        mask: bool or 0/1 array of shape (H, W), row = y, column = x.
    Returns:
        list of flat COCO polygons `[x0, y0, x1, y1, ...]` in pixel-corner coordinates (floats, whole
        numbers); empty list for an empty mask.
    """
    mask = _as_bool_2d(mask)
    if not mask.any():
        return []
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    y0, x0 = int(rows[0]), int(cols[0])
    crop = mask[y0:rows[-1] + 1, x0:cols[-1] + 1]
    polygons = []
    for outer, holes in _rings(crop):
        ring = _bridge_all(outer, holes) + np.array([x0, y0], dtype=np.float64)
        polygons.append([float(v) for v in ring.reshape(-1)])
    return polygons


def polygon_parts(mask: np.ndarray) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """The outer ring and hole rings of every part, unbridged: `[(outer (N, 2), [hole (M, 2), ...]), ...]`.

    Points are (x, y) float64 in pixel-corner coordinates. Used where a format wants rings separately.
    """
    mask = _as_bool_2d(mask)
    if not mask.any():
        return []
    return list(_rings(mask))


def _as_bool_2d(mask: np.ndarray) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {arr.shape}")
    return arr.astype(bool, copy=False)


def _corner_lattice(mask: np.ndarray) -> np.ndarray:
    """uint8 (2H+1, 2W+1): 1 where a lattice point lies on some foreground pixel's closed square."""
    h, w = mask.shape
    lattice = np.zeros((2 * h + 1, 2 * w + 1), dtype=np.uint8)
    ys, xs = np.nonzero(mask)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            lattice[2 * ys + dy, 2 * xs + dx] = 1
    return lattice


def _rings(mask: np.ndarray):
    """Yield (outer ring, [hole rings]) per part, each ring (N, 2) float64 (x, y) in corner coordinates."""
    lattice = _corner_lattice(mask)
    contours, hierarchy = cv2.findContours(lattice, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return
    hierarchy = hierarchy[0]
    holes_of: dict[int, list[np.ndarray]] = {}
    outers: list[int] = []
    for i, (_next, _prev, _child, parent) in enumerate(hierarchy):
        if parent < 0:
            outers.append(i)
        else:
            holes_of.setdefault(int(parent), []).append(_to_corners(contours[i]))
    for i in outers:
        yield _to_corners(contours[i]), holes_of.get(i, [])


def _to_corners(contour: np.ndarray) -> np.ndarray:
    return contour.reshape(-1, 2).astype(np.float64) / 2.0


def _bridge_all(outer: np.ndarray, holes: list[np.ndarray]) -> np.ndarray:
    """Join every hole into `outer` by a zero-width cut from its closest outer vertex (there and back).

    Cuts may pass over other holes or each other: each is traversed once in each direction, so it adds
    no area under the even-odd rule.
    """
    if not holes:
        return outer
    tree = cKDTree(outer)
    inserts: dict[int, list[np.ndarray]] = {}
    for hole in holes:
        dist, idx = tree.query(hole, k=1)
        j = int(np.argmin(dist))
        i = int(idx[j])
        inserts.setdefault(i, []).append(np.concatenate([hole[j:], hole[:j + 1]]))
    pieces: list[np.ndarray] = []
    start = 0
    for i in sorted(inserts):
        pieces.append(outer[start:i + 1])
        for loop in inserts[i]:
            pieces.append(loop)
            pieces.append(outer[i:i + 1])
        start = i + 1
    pieces.append(outer[start:])
    return np.concatenate(pieces)
