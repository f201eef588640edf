"""Clicks and the two click encodings the predictors need.

`Click(x, y, positive)` is the one click type of the engine; (x, y) are pixel coordinates (column, row) of the
image the click refers to (original image, or a transformed one inside the predictor, where they may be
fractional). This module is the ONE place where the reference (y, x) order appears: `points_tensor` writes the
network's points layout `(B, 2P, 2|3)` with rows `(y, x[, index])` (spec §2.1).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch

__all__ = ["Click", "ClickList", "points_tensor", "click_square_maps"]


@dataclass(frozen=True)
class Click:
    """One user (or simulated) click: (x, y) pixel coordinates, polarity `positive`."""

    x: float
    y: float
    positive: bool

    def __post_init__(self) -> None:
        for name in ("x", "y"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"Click.{name} must be a number, got {value!r}")
            if not np.isfinite(value):
                raise ValueError(f"Click.{name} must be finite, got {value!r}")
        if not isinstance(self.positive, (bool, np.bool_)):
            raise TypeError(f"Click.positive must be a bool, got {self.positive!r}")

    def moved(self, x: float, y: float) -> "Click":
        """The same click (polarity) at new (x, y) coordinates, e.g. after a transform."""
        return replace(self, x=x, y=y)


ClickList = Sequence[Click]


def points_tensor(click_lists: Sequence[ClickList], limit: int | None = None, with_index: bool = True,
                  index_offset: int = 0, device: torch.device | str | None = None,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Build the reference points tensor from per-batch-item click lists.

    Returns `dtype` (float32 by default, as the reference: its ZoomIn ROIs are Python ints, so transformed
    clicks are Python floats and `torch.tensor` makes float32; integer clicks are exact either way; checked
    against the fixtures, float64 points move disk borders) `(B, 2P, 3)` (with_index) or `(B, 2P, 2)`: per item P positive rows then P negative rows,
    each `(y, x[, index])`, padded with -1 rows. P = max over items of max(#pos, #neg) counted over ALL
    clicks, capped at `limit`, at least 1; only the first `limit` clicks of each list are written (spec §2.1
    and §8.3: the extra padding is harmless). `index` is the click's position in its list + `index_offset`
    (RITM's `click_indx_offset`, 1 after an external initial mask).
    """
    if limit is not None and limit < 1:
        raise ValueError(f"net_clicks_limit must be >= 1 or None, got {limit}")
    counts = []
    for clicks in click_lists:
        n_pos = sum(1 for c in clicks if c.positive)
        counts += [n_pos, len(clicks) - n_pos]
    num_points = max(counts) if counts else 0
    if limit is not None:
        num_points = min(limit, num_points)
    num_points = max(1, num_points)

    width = 3 if with_index else 2
    pad = [-1.0] * width
    rows: list[list[list[float]]] = []
    for clicks in click_lists:
        used = list(clicks)[:limit] if limit is not None else list(clicks)
        pos, neg = [], []
        for index, click in enumerate(used):
            row = [float(click.y), float(click.x)] + ([float(index + index_offset)] if with_index else [])
            (pos if click.positive else neg).append(row)
        rows.append(pos + [pad] * (num_points - len(pos)) + neg + [pad] * (num_points - len(neg)))
    return torch.tensor(rows, dtype=dtype, device=device).reshape(len(click_lists), 2 * num_points,
                                                                          width)


def click_square_maps(click_lists: Sequence[ClickList], shape: tuple[int, int], radius: int = 1,
                      device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive and negative click-square masks for the BRS loss, float32 `(B, 1, H, W)` each (0/1).

    `shape` is (H, W) of the network input. Each click marks the (2·radius+1)² square centred on
    `(round(y), round(x))` with Python's `round` (banker's rounding: 2.5 → 2), as the reference does.
    Reference quirk kept on purpose (spec §8.2): the square is a plain slice `[y-r : y+r+1, x-r : x+r+1]`, so
    a click on row or column 0 gives a negative slice start, i.e. an EMPTY square (the click then contributes
    nothing to the loss). All clicks are used (no net_clicks_limit).
    """
    height, width = int(shape[0]), int(shape[1])
    pos = np.zeros((len(click_lists), 1, height, width), dtype=np.float32)
    neg = np.zeros_like(pos)
    for item, clicks in enumerate(click_lists):
        for click in clicks:
            y, x = int(round(click.y)), int(round(click.x))
            target = pos if click.positive else neg
            # Negative starts wrap around in numpy slicing and select nothing: the reference's behaviour.
            target[item, 0, y - radius:y + radius + 1, x - radius:x + radius + 1] = 1.0
    return torch.from_numpy(pos).to(device), torch.from_numpy(neg).to(device)
