"""Metrics of the NoC protocol (spec §4): IoU with an ignore region, NoC@t, NoF@t, mIoU@k, SPC.

Conventions follow the reference (RITM `utils.get_iou`, `compute_noc_metric`):

* IoU leaves ignored pixels out of both intersection and union; computed in float64, stored as
  float32 (the reference keeps per-sample IoU arrays as float32 and compares those with thresholds).
* NoC@t = 1 + index of the first IoU ≥ t, or ``max_clicks`` when never reached.
* NoF@t ("failures") = number of samples whose NoC@t equals ``max_clicks`` — a sample reaching t exactly
  at the last click is counted as a failure too, as the reference does.
* mIoU@k = mean over samples of the IoU after click k (requires that k clicks were made).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["iou", "noc", "noc_summary", "nof_summary", "miou_at", "miou_curve", "clicks_to_target",
           "NOC_THRESHOLDS", "NOF_THRESHOLDS", "MIOU_CLICKS", "TARGET_IOU"]

NOC_THRESHOLDS: tuple[float, ...] = (0.80, 0.85, 0.90)
NOF_THRESHOLDS: tuple[float, ...] = (0.85, 0.90)
MIOU_CLICKS: tuple[int, ...] = (1, 2, 3, 5, 10, 20)
TARGET_IOU: float = 0.90  # the reference stops a sample here; SPC counts clicks up to this point


def iou(gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Intersection over union of two bool (H, W) masks, ignored pixels left out.

    Raises:
        ValueError: on shape mismatch, or when the union is empty (the reference would return NaN; our
            loaders refuse masks without object pixels, so this only signals bad input).
    """
    gt = np.asarray(gt, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    if gt.shape != pred.shape or gt.ndim != 2:
        raise ValueError(f"gt {gt.shape} and pred {pred.shape} must be equal 2-D shapes")
    valid = np.ones_like(gt) if ignore is None else ~np.asarray(ignore, dtype=bool)
    if valid.shape != gt.shape:
        raise ValueError(f"ignore {valid.shape} must have the shape of gt {gt.shape}")
    union = int(np.count_nonzero((gt | pred) & valid))
    if union == 0:
        raise ValueError("IoU undefined: empty union (no object pixels in gt or prediction)")
    inter = int(np.count_nonzero(gt & pred & valid))
    return inter / union


def _as_ious(ious: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(ious, dtype=np.float32)
    if arr.ndim != 1:
        raise ValueError(f"per-sample IoUs must be a 1-D sequence, got shape {arr.shape}")
    return arr


def noc(ious: Sequence[float] | np.ndarray, threshold: float, max_clicks: int = 20) -> int:
    """Number of clicks to reach ``threshold`` for one sample (float32 comparison as the reference).

    Args:
        ious: IoU after click 1, 2, ... (at most ``max_clicks`` values are looked at).
        threshold: e.g. 0.85.
        max_clicks: value returned when the threshold is never reached.
    """
    arr = _as_ious(ious)[:max_clicks]
    hits = np.flatnonzero(arr >= np.float32(threshold))
    return int(hits[0]) + 1 if hits.size else int(max_clicks)


def clicks_to_target(ious: Sequence[float], target: float = TARGET_IOU, max_clicks: int = 20) -> int:
    """Clicks the reference would have made before stopping: first click with float64 IoU ≥ target
    (its stop test uses the unrounded IoU), else ``min(len(ious), max_clicks)``."""
    for index, value in enumerate(list(ious)[:max_clicks]):
        if float(value) >= target:
            return index + 1
    return min(len(ious), max_clicks)


def noc_summary(all_ious: Sequence[Sequence[float]], max_clicks: int = 20,
                thresholds: Sequence[float] = NOC_THRESHOLDS) -> dict[str, float | None]:
    """Mean NoC over samples for each threshold, keyed "80", "85", "90"; None when there are no samples."""
    out: dict[str, float | None] = {}
    for thr in thresholds:
        values = [noc(s, thr, max_clicks) for s in all_ious]
        out[_key(thr)] = float(np.mean(values)) if values else None
    return out


def nof_summary(all_ious: Sequence[Sequence[float]], max_clicks: int = 20,
                thresholds: Sequence[float] = NOF_THRESHOLDS) -> dict[str, int]:
    """Number of failures (NoC == max_clicks) for each threshold, keyed "85", "90"."""
    return {_key(thr): int(sum(noc(s, thr, max_clicks) == max_clicks for s in all_ious))
            for thr in thresholds}


def miou_at(all_ious: Sequence[Sequence[float]], k: int) -> float | None:
    """Mean IoU after click ``k`` (1-based) over samples; None if any sample has fewer than k clicks
    (e.g. an early-stopped run) or there are no samples."""
    if k < 1:
        raise ValueError(f"click index k must be ≥ 1, got {k}")
    if not all_ious or any(len(s) < k for s in all_ious):
        return None
    return float(np.mean([float(s[k - 1]) for s in all_ious]))


def miou_curve(all_ious: Sequence[Sequence[float]], max_clicks: int) -> list[float | None]:
    """mIoU after clicks 1..max_clicks (None where not every sample made that many clicks)."""
    return [miou_at(all_ious, k) for k in range(1, max_clicks + 1)]


def _key(threshold: float) -> str:
    """0.85 -> "85"."""
    return str(int(round(threshold * 100)))
