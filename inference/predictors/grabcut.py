"""GrabCut from clicks: a weights-free segmenter behind the predictor API (OpenCV `cv2.grabCut`).

Positive clicks become sure-foreground disks inside probable-foreground disks, negative clicks sure-background
disks; the initial rectangle is the positives' bounding box grown by a margin — outside it is sure background.
Large images are processed at a longest side of `work_size` pixels and the mask is resized back.
"""
from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from inference.clicks import Click

__all__ = ["GrabCutPredictor"]


class GrabCutPredictor:
    """Click → binary probability map (0/1 float32) via GrabCut; no network, no optimisation variables."""

    mode = "grabcut"
    n_objective_evals = 0
    objective_values: list[float] = []
    roi = None

    def __init__(self, iterations: int = 5, work_size: int = 400, margin: float = 0.25, seed: int = 0) -> None:
        if iterations < 1 or work_size < 16:
            raise ValueError("iterations must be >= 1 and work_size >= 16")
        self.iterations, self.work_size, self.margin, self.seed = iterations, work_size, margin, seed
        self.image: np.ndarray | None = None
        self.prev_mask: np.ndarray | None = None

    def set_input_image(self, image: np.ndarray) -> None:
        """Start an object on uint8 (H, W, 3) RGB `image`."""
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError("image must be a uint8 numpy array of shape (H, W, 3) (RGB)")
        self.image, self.prev_mask = image, None

    def set_prev_mask(self, mask: np.ndarray) -> None:
        """A previous mask (H, W) seeds probable foreground where > 0.5."""
        self.prev_mask = np.asarray(mask, dtype=np.float32) > 0.5

    def get_state(self) -> dict[str, Any]:
        return {"prev_mask": self.prev_mask}

    def set_state(self, state: dict[str, Any]) -> None:
        self.prev_mask = state["prev_mask"]

    def _init_mask(self, shape: tuple[int, int], clicks: Sequence[Click], scale: float) -> np.ndarray:
        height, width = shape
        radius = max(2, int(round(0.015 * max(height, width))))
        mask = np.full(shape, cv2.GC_BGD, dtype=np.uint8)
        positives = [c for c in clicks if c.positive]
        xs = [c.x * scale for c in positives]
        ys = [c.y * scale for c in positives]
        pad = self.margin * max(height, width)
        x0, x1 = int(max(0, min(xs) - pad)), int(min(width - 1, max(xs) + pad))
        y0, y1 = int(max(0, min(ys) - pad)), int(min(height - 1, max(ys) + pad))
        mask[y0:y1 + 1, x0:x1 + 1] = cv2.GC_PR_BGD
        if self.prev_mask is not None:
            prev = cv2.resize(self.prev_mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
            mask[prev > 0] = cv2.GC_PR_FGD
        for click in clicks:
            center = (int(round(click.x * scale)), int(round(click.y * scale)))
            if click.positive:
                cv2.circle(mask, center, 3 * radius, int(cv2.GC_PR_FGD), -1)
        for click in clicks:
            center = (int(round(click.x * scale)), int(round(click.y * scale)))
            cv2.circle(mask, center, radius, int(cv2.GC_FGD if click.positive else cv2.GC_BGD), -1)
        if not np.isin(mask, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
            mask[0, :] = mask[-1, :] = mask[:, 0] = mask[:, -1] = cv2.GC_BGD
        if not (mask == cv2.GC_BGD).any():
            border = np.zeros(shape, dtype=bool)
            border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
            mask[border & (mask == cv2.GC_PR_BGD)] = cv2.GC_BGD
        return mask

    def predict(self, clicks: Sequence[Click], prev_mask: Any = None) -> np.ndarray:
        """Float32 (H, W) in {0, 1}: 1 = foreground. No positive click → all zeros."""
        if self.image is None:
            raise RuntimeError("set_input_image first")
        height, width = self.image.shape[:2]
        if not any(c.positive for c in clicks):
            return np.zeros((height, width), dtype=np.float32)
        scale = min(1.0, self.work_size / max(height, width))
        small = self.image if scale == 1.0 else cv2.resize(
            self.image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        mask = self._init_mask(small.shape[:2], clicks, scale)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(self.seed)
        cv2.grabCut(np.ascontiguousarray(small[:, :, ::-1]), mask, None, bgd, fgd, self.iterations,
                    cv2.GC_INIT_WITH_MASK)
        fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
        if scale != 1.0:
            fg = cv2.resize(fg, (width, height), interpolation=cv2.INTER_NEAREST)
        return fg.astype(np.float32)
