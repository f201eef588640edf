"""The automatic clicker of the NoC protocol (RITM `Clicker._get_next_click`, spec §4 and §8 item 7).

The next click goes to the error pixel farthest from the error region's border:

* false negatives ``fn = gt & ~pred & ~ignore`` and false positives ``fp = ~gt & pred & ~ignore``;
* both are padded with a 1-pixel False border, so that the image border counts as "outside" the error;
* exact Euclidean distance transform of each (``cv2.distanceTransform(DIST_L2, maskSize=0)``, as RITM
  does; float32), padding removed, pixels already clicked set to 0;
* positive iff ``max(fn_dt) > max(fp_dt)`` (ties → negative); the click is the first pixel in row-major
  order attaining that maximum.

Deliberate deviation, only reachable when clicks continue after a perfect prediction (both maxima 0, see
``docs/results.md``): the reference then places a negative click at pixel (0, 0) even if it was already
clicked; we place it at the first *not yet clicked* pixel in row-major order (spec §8 item 7's wording).

Coordinates: masks are indexed ``[y, x]`` (row, column); the returned :class:`Click` carries ``(x, y)``.
"""
from __future__ import annotations

import cv2
import numpy as np

from inference.clicks import Click

__all__ = ["next_click", "AutoClicker", "error_distance_maps"]


def _check_mask(name: str, mask: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    """Return ``mask`` as a 2-D bool array, raising ``ValueError`` on a wrong shape."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (H, W) mask, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape} (same as gt)")
    return arr.astype(bool, copy=False)


def _padded_distance(mask: np.ndarray) -> np.ndarray:
    """Distance of every True pixel to the nearest False pixel, the image border counting as False.

    Args:
        mask: bool (H, W).
    Returns:
        float32 (H, W); 0 where ``mask`` is False.
    """
    padded = np.pad(mask, 1, mode="constant", constant_values=False).astype(np.uint8)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 0)
    return dist[1:-1, 1:-1]


def error_distance_maps(gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None,
                        clicked: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distance maps of the false-negative and false-positive regions, clicked pixels zeroed.

    Args:
        gt: bool (H, W), True = object.
        pred: bool (H, W), True = predicted object (``probability > 0.49``).
        ignore: bool (H, W) or None, True = left out (GrabCut/Berkeley 128 band).
        clicked: bool (H, W) or None, True = pixel already clicked.
    Returns:
        (fn_dt, fp_dt), both float32 (H, W).
    """
    gt = _check_mask("gt", gt, None)
    pred = _check_mask("pred", pred, gt.shape)
    valid = ~_check_mask("ignore", ignore, gt.shape) if ignore is not None else np.ones_like(gt)
    fn = gt & ~pred & valid
    fp = ~gt & pred & valid
    fn_dt = _padded_distance(fn)
    fp_dt = _padded_distance(fp)
    if clicked is not None:
        not_clicked = ~_check_mask("clicked", clicked, gt.shape)
        fn_dt = fn_dt * not_clicked
        fp_dt = fp_dt * not_clicked
    return fn_dt, fp_dt


def next_click(gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None,
               clicked: np.ndarray | None = None) -> Click:
    """The next automatic click for the current prediction (see module docstring for the rule).

    Args:
        gt: bool (H, W) object mask.
        pred: bool (H, W) current prediction (all False before the first click).
        ignore: bool (H, W) or None; ignored pixels are neither errors nor click targets.
        clicked: bool (H, W) or None; pixels already clicked are excluded.
    Returns:
        ``Click(x=column, y=row, positive)`` with integral float coordinates.
    Raises:
        ValueError: on shape mismatches, or when every pixel has already been clicked.
    """
    fn_dt, fp_dt = error_distance_maps(gt, pred, ignore, clicked)
    fn_max = fn_dt.max()
    fp_max = fp_dt.max()
    positive = bool(fn_max > fp_max)
    if positive:
        candidates = fn_dt == fn_max
    elif fp_max > 0:
        candidates = fp_dt == fp_max
    else:
        # Perfect prediction (no error pixel left that is not clicked): first pixel not yet clicked.
        candidates = np.ones(fp_dt.shape, dtype=bool)
        if clicked is not None:
            candidates &= ~np.asarray(clicked, dtype=bool)
        if not candidates.any():
            raise ValueError("every pixel has already been clicked; no next click exists")
    flat_index = int(np.argmax(candidates))  # first True in row-major (C) order
    y, x = divmod(flat_index, candidates.shape[1])
    return Click(x=float(x), y=float(y), positive=positive)


class AutoClicker:
    """Stateful clicker for one sample: remembers which pixels were clicked.

    Args:
        gt: bool (H, W) object mask.
        ignore: bool (H, W) or None.
    """

    def __init__(self, gt: np.ndarray, ignore: np.ndarray | None = None) -> None:
        self.gt = _check_mask("gt", gt, None)
        self.ignore = _check_mask("ignore", ignore, self.gt.shape) if ignore is not None else None
        self.clicked = np.zeros(self.gt.shape, dtype=bool)
        self.clicks: list[Click] = []

    def next(self, pred: np.ndarray) -> Click:
        """Choose, record and return the next click for prediction ``pred`` (bool (H, W))."""
        click = next_click(self.gt, pred, self.ignore, self.clicked)
        self.clicked[int(click.y), int(click.x)] = True
        self.clicks.append(click)
        return click
