"""Edge-aware refinement of a probability map: the colour guided filter (He, Sun & Tang, ECCV 2010 / TPAMI 2013).

The network predicts at 1/4 of its input and the map is upsampled bilinearly, so its edges are smooth where the
object's edges are sharp. The guided filter fits, in every (2r+1)² window, the map as an affine function of the
image's colour, q = aᵀI + b, regularised by `eps`, and averages the fits; where the colour changes the refined map
changes with it. Everything that depends only on the image (window means, colour covariances and their regularised
inverses) is computed once per image in `GuidedRefiner`; each click then costs eight box filters.

Images whose longest side exceeds `GuidedFilterParams.max_side` use the fast guided filter (He & Sun 2015): the
coefficients a, b are fitted on a copy subsampled by s = ⌈longest side / max_side⌉ with radius r / s, upsampled
bilinearly and applied to the full-resolution guide. Up to `max_side` the filter is exact.

All arrays are (H, W[, C]) in image pixel order (row = y, column = x); the guide is RGB scaled to [0, 1].
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["GuidedFilterParams", "GuidedRefiner"]


@dataclass(frozen=True)
class GuidedFilterParams:
    """Guided filter settings: window radius in image pixels, the regulariser (guide in [0, 1] units), and the
    longest side above which the coefficients are fitted on a subsampled copy."""

    radius: int = 4
    eps: float = 1e-3
    max_side: int = 1024

    def __post_init__(self) -> None:
        for name in ("radius", "max_side"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer ≥ 1, got {value!r}")
        if not np.isfinite(self.eps) or self.eps <= 0:
            raise ValueError(f"eps must be a positive number, got {self.eps!r}")


def _box(array: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2r+1)² window, windows mirrored at the border."""
    return cv2.boxFilter(array, ddepth=-1, ksize=(2 * radius + 1, 2 * radius + 1), normalize=True,
                         borderType=cv2.BORDER_REFLECT)


def _channels(image: np.ndarray) -> list[np.ndarray]:
    """uint8 (H, W, 3) → three contiguous float32 (H, W) planes in [0, 1]."""
    return [np.ascontiguousarray(image[..., c], dtype=np.float32) * np.float32(1 / 255) for c in range(3)]


class GuidedRefiner:
    """Colour guided filter with the guide's statistics precomputed for one image.

    Args:
        image: uint8 (H, W, 3) RGB, the guide.
        params: radius, eps and the longest side filtered exactly.
    """

    def __init__(self, image: np.ndarray, params: GuidedFilterParams) -> None:
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError("guide must be a uint8 numpy array of shape (H, W, 3) (RGB); got "
                             f"{getattr(image, 'dtype', type(image))} {getattr(image, 'shape', '')}")
        self.params = params
        self.shape = image.shape[:2]
        self.subsample = max(1, math.ceil(max(self.shape) / params.max_side))
        self.radius = max(1, round(params.radius / self.subsample))
        # Full-resolution guide for the subsampled path, as uint8 planes (3 B/px, like the image itself).
        self._planes = cv2.split(image) if self.subsample > 1 else None
        if self.subsample > 1:
            small = (max(1, round(self.shape[1] / self.subsample)), max(1, round(self.shape[0] / self.subsample)))
            image = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
        self._small_shape = image.shape[:2]
        r = self.radius
        self._guide = _channels(image)
        self._mean = [_box(g, r) for g in self._guide]
        # Regularised covariance Σ + εU per pixel (symmetric 3×3), inverted in closed form (adjugate / det).
        cov = {}
        for i in range(3):
            for j in range(i, 3):
                cov[i, j] = _box(self._guide[i] * self._guide[j], r) - self._mean[i] * self._mean[j]
        for i in range(3):
            cov[i, i] = cov[i, i] + np.float32(params.eps)
        a, b, c, d, e, f = cov[0, 0], cov[0, 1], cov[0, 2], cov[1, 1], cov[1, 2], cov[2, 2]
        inv = {(0, 0): d * f - e * e, (0, 1): c * e - b * f, (0, 2): b * e - c * d,
               (1, 1): a * f - c * c, (1, 2): b * c - a * e, (2, 2): a * d - b * b}
        det = a * inv[0, 0] + b * inv[0, 1] + c * inv[0, 2]
        self._inv = {key: value / det for key, value in inv.items()}
        for i in range(3):
            for j in range(i):
                self._inv[i, j] = self._inv[j, i]

    @property
    def nbytes(self) -> int:
        """Bytes held for the guide's statistics (12 float32 planes at the fitting resolution), plus the uint8
        full-resolution planes when the coefficients are fitted on a subsampled copy."""
        full = 3 * self.shape[0] * self.shape[1] if self._planes is not None else 0
        return 12 * 4 * self._small_shape[0] * self._small_shape[1] + full

    def refine(self, probs: np.ndarray) -> np.ndarray:
        """Refined float32 (H, W) map in [0, 1] for float (H, W) `probs` in [0, 1] of the guide's size."""
        probs = np.asarray(probs, dtype=np.float32)
        if probs.shape != self.shape:
            raise ValueError(f"map shape {probs.shape} != guide shape {self.shape}")
        if self.subsample > 1:
            size = (self._small_shape[1], self._small_shape[0])
            probs = cv2.resize(probs, size, interpolation=cv2.INTER_AREA)
        r = self.radius
        mean_p = _box(probs, r)
        cov_ip = [_box(g * probs, r) - m * mean_p for g, m in zip(self._guide, self._mean)]
        coef = [sum(self._inv[i, j] * cov_ip[j] for j in range(3)) for i in range(3)]
        offset = mean_p - sum(k * m for k, m in zip(coef, self._mean))
        coef, offset = [_box(k, r) for k in coef], _box(offset, r)
        if self._planes is None:
            refined = sum(k * g for k, g in zip(coef, self._guide)) + offset
        else:   # upsample a, b and apply them to the uint8 planes without float copies of the image
            size = (self.shape[1], self.shape[0])
            refined = cv2.resize(offset, size, interpolation=cv2.INTER_LINEAR)
            for k, plane in zip(coef, self._planes):
                refined += cv2.multiply(cv2.resize(k, size, interpolation=cv2.INTER_LINEAR), plane,
                                        dtype=cv2.CV_32F, scale=1 / 255)
        return np.clip(refined, 0.0, 1.0, out=refined).astype(np.float32, copy=False)
