"""Training clicks: a MultiPointSampler-style initial click set and the iterative-training next click.

Points arrays follow the network layout (2P, 3) rows (y, x, index): rows [0, P) positive, [P, 2P)
negative, padding rows -1. Coordinates here are integer pixel (row, col) of the crop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class SamplerConfig:
    """max_positive / max_negative initial clicks, drawn with P(k) ∝ gamma^k (k ≥ 1 positives, k ≥ 0
    negatives); `slots` = rows per polarity (≥ max + iterative clicks); negatives come from the border band
    (width ceil(border_frac·√area)) with probability `border_prob`, else anywhere in the background;
    positives from the object eroded (prob `erode_prob`), the first one from its deep interior (distance >
    half the maximum) with probability `center_first_prob`."""

    max_positive: int = 8
    max_negative: int = 8
    gamma: float = 0.7
    slots: int = 12
    border_prob: float = 0.5
    border_frac: float = 0.1
    erode_prob: float = 0.9
    center_first_prob: float = 0.3


def _geometric(rng: np.random.Generator, low: int, high: int, gamma: float) -> int:
    """k in [low, high] with probability ∝ gamma^(k - low)."""
    ks = np.arange(low, high + 1)
    p = gamma ** (ks - low)
    return int(rng.choice(ks, p=p / p.sum()))


def _pick(rng: np.random.Generator, mask: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Up to n distinct (row, col) pixels drawn uniformly from bool mask."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0 or n <= 0:
        return []
    idx = rng.choice(len(ys), size=min(n, len(ys)), replace=False)
    return [(int(ys[i]), int(xs[i])) for i in idx]


def sample_points(gt: np.ndarray, ignore: np.ndarray, cfg: SamplerConfig, rng: np.random.Generator) -> np.ndarray:
    """Initial clicks for one crop. gt/ignore: bool (H, W). Returns float32 (2·slots, 3), rows (y, x, index)."""
    valid = ~ignore
    obj = gt & valid
    points = np.full((2 * cfg.slots, 3), -1.0, dtype=np.float32)
    if not obj.any():
        return points
    n_pos = _geometric(rng, 1, cfg.max_positive, cfg.gamma)
    n_neg = _geometric(rng, 0, cfg.max_negative, cfg.gamma)
    pos_region = obj
    if rng.random() < cfg.erode_prob:
        eroded = cv2.erode(obj.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=3) > 0
        if eroded.any():
            pos_region = eroded
    positives: list[tuple[int, int]] = []
    if rng.random() < cfg.center_first_prob:
        dt = cv2.distanceTransform(np.pad(obj, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
        positives += _pick(rng, dt > dt.max() / 2, 1)
    positives += _pick(rng, pos_region, n_pos - len(positives))
    background = ~gt & valid
    width = max(1, math.ceil(cfg.border_frac * math.sqrt(obj.sum())))
    dilated = cv2.dilate(obj.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=width) > 0
    band = dilated & background
    negatives: list[tuple[int, int]] = []
    for _ in range(n_neg):
        region = band if (rng.random() < cfg.border_prob and band.any()) else background
        negatives += _pick(rng, region, 1)
    order = 0
    for row, (y, x) in enumerate(positives[:cfg.slots]):
        points[row] = (y, x, order)
        order += 1
    for row, (y, x) in enumerate(negatives[:cfg.slots]):
        points[cfg.slots + row] = (y, x, order)
        order += 1
    return points


def add_error_click(points: np.ndarray, pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """RITM iterative-training click: on the larger error region (FN vs FP by max padded distance), a pixel
    drawn uniformly among those with distance > max/2 goes into the first free row of its polarity.

    Args:
        points: (2·slots, 3) float32 rows (y, x, index), modified copy returned.
        pred: bool (H, W) current prediction (prob > 0.49). gt, ignore: bool (H, W).
    """
    out = points.copy()
    valid = ~ignore
    fn = gt & ~pred & valid
    fp = ~gt & pred & valid
    fn_dt = cv2.distanceTransform(np.pad(fn, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    fp_dt = cv2.distanceTransform(np.pad(fp, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    positive = fn_dt.max() > fp_dt.max()
    dt = fn_dt if positive else fp_dt
    if dt.max() <= 0:
        return out
    picked = _pick(rng, dt > dt.max() / 2, 1)
    slots = out.shape[0] // 2
    section = out[:slots] if positive else out[slots:]
    free = np.nonzero(section[:, 0] < 0)[0]
    if len(free) == 0 or not picked:
        return out
    y, x = picked[0]
    section[free[0]] = (y, x, out[:, 2].max() + 1)
    return out
