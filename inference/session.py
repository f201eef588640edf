"""`SegmentationSession`: one object on one image, driven click by click (docs/contracts.md).

Built once per (image, object). Holds the click list, the predictor (transforms, optimisation variables,
cached features, zoom ROI, previous mask) and an undo/redo history of immutable snapshots, so that undo is
exact: restoring a snapshot gives back the very state the next click would have started from.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

from inference.clicks import Click
from inference.utils.device import select_device, torch_threads
from inference.predictors import MODEL_FREE_MODES, PredictorConfig, build_predictor

__all__ = ["SegmentationSession", "SessionState"]


@dataclass(frozen=True)
class SessionState:
    """Everything a session needs to continue exactly from a point: clicks, predictor state, last output."""

    clicks: tuple[Click, ...]
    predictor: Any
    probs: np.ndarray | None
    last_stats: Mapping[str, Any]


def _network_of(model: Any) -> torch.nn.Module | None:
    return getattr(model, "net", model)


class SegmentationSession:
    """Interactive segmentation of one object.

    Args:
        model: a `model_zoo.LoadedModel`, a `ClickNetwork`, or None for `mode="grabcut"`.
        image: uint8 (H, W, 3) RGB.
        mode: one of `inference.predictors.MODES`.
        config: the predictor's settings; None → the reference's (`PredictorConfig()`). What the app runs:
            `inference.predictors.presets.APP.config(mode)`.
        device: None → the model's device (CUDA when present else CPU for a bare network).
        num_threads: torch CPU threads used while this session computes (None: unchanged).
        max_history: undo depth kept.
    """

    def __init__(self, model: Any, image: np.ndarray, mode: str = "f-brs-b", config: PredictorConfig | None = None,
                 *, device: str | torch.device | None = None, num_threads: int | None = None,
                 max_history: int = 100) -> None:
        net = _network_of(model)
        if net is None and mode not in MODEL_FREE_MODES:
            raise ValueError(f"mode {mode!r} needs a model")
        if device is None:
            device = getattr(model, "device", None)
        if device is None and net is not None:
            device = next(net.parameters()).device
        self.device = select_device(device)
        self.mode = mode
        self.num_threads = num_threads
        self.max_history = max_history
        self.config = config or PredictorConfig()
        self.predictor = build_predictor(mode, net, self.device, self.config)
        with torch_threads(num_threads):
            self.predictor.set_input_image(image)
        self.image_shape = (int(image.shape[0]), int(image.shape[1]))
        self._image = image.copy()
        self._clicks: list[Click] = []
        self._probs: np.ndarray | None = None
        self._last_stats: dict[str, Any] = self._stats(0.0)
        self._undo: list[SessionState] = []
        self._redo: list[SessionState] = []

    # --- read-only views -----------------------------------------------------------------------------
    @property
    def clicks(self) -> list[Click]:
        """The clicks of the object so far, in order (a copy)."""
        return list(self._clicks)

    @property
    def roi(self) -> tuple[int, int, int, int] | None:
        """(x0, y0, x1, y1) inclusive box of the last ZoomIn ROI in image pixels, or None (whole image)."""
        box = self.predictor.roi
        if box is None:
            return None
        rmin, rmax, cmin, cmax = box
        return int(cmin), int(rmin), int(cmax), int(rmax)

    @property
    def last_stats(self) -> dict[str, Any]:
        """Stats of the last computation: seconds, n_objective_evals, objective_values, mode, device."""
        return dict(self._last_stats)

    @property
    def probs(self) -> np.ndarray:
        """Current probability map float32 (H, W) (zeros before the first click)."""
        return self._current()

    # --- editing -------------------------------------------------------------------------------------
    def add_click(self, click: Click) -> np.ndarray:
        """Add a click ((x, y) image pixels) and return the new float32 (H, W) probability map."""
        if not isinstance(click, Click):
            raise TypeError(f"expected inference.clicks.Click, got {type(click).__name__}")
        height, width = self.image_shape
        if not (0 <= click.x < width and 0 <= click.y < height):
            raise ValueError(f"click ({click.x}, {click.y}) outside the {width}x{height} image")
        before = self.snapshot()
        clicks = self._clicks + [click]
        start = time.perf_counter()
        with torch_threads(self.num_threads):
            probs = self.predictor.predict(clicks)
        seconds = time.perf_counter() - start
        self._clicks, self._probs = clicks, probs
        self._last_stats = self._stats(seconds)
        self._push_undo(before)
        self._redo.clear()
        return probs.copy()

    def undo(self) -> np.ndarray:
        """Go back one step (click or prev-mask change); returns the probability map (zeros if none)."""
        if self._undo:
            self._redo.append(self.snapshot())
            self.restore(self._undo.pop(), keep_history=True)
        return self._current()

    def redo(self) -> np.ndarray:
        """Re-apply the last undone step; returns the probability map."""
        if self._redo:
            self._undo.append(self.snapshot())
            self.restore(self._redo.pop(), keep_history=True)
        return self._current()

    def reset(self) -> np.ndarray:
        """Drop all clicks, state and history (a fresh object on the same image); returns zeros."""
        with torch_threads(self.num_threads):
            self.predictor.set_input_image(self._image)
        self._clicks, self._probs = [], None
        self._undo.clear()
        self._redo.clear()
        self._last_stats = self._stats(0.0)
        return self._current()

    def set_prev_mask(self, mask: np.ndarray) -> np.ndarray:
        """Use float (H, W) `mask` in [0, 1] (e.g. an existing annotation) as the previous prediction for the
        next click (RITM ITER-M input); undoable. Returns the mask as the current probability map."""
        mask = np.asarray(mask, dtype=np.float32)
        if mask.shape != self.image_shape:
            raise ValueError(f"mask shape {mask.shape} != image shape {self.image_shape}")
        if not np.all(np.isfinite(mask)) or mask.min(initial=0) < 0 or mask.max(initial=0) > 1:
            raise ValueError("mask values must be finite and within [0, 1]")
        before = self.snapshot()
        self.predictor.set_prev_mask(mask)
        self._probs = mask.copy()
        self._push_undo(before)
        self._redo.clear()
        return self._current()

    # --- snapshots -----------------------------------------------------------------------------------
    def snapshot(self) -> SessionState:
        """Immutable state value; `restore` of it reproduces later clicks exactly."""
        return SessionState(tuple(self._clicks), self.predictor.get_state(), self._probs, dict(self._last_stats))

    def restore(self, state: SessionState, keep_history: bool = False) -> None:
        """Return to `state` (from `snapshot`). Unless `keep_history`, the redo history is dropped."""
        self.predictor.set_state(state.predictor)
        self._clicks, self._probs = list(state.clicks), state.probs
        self._last_stats = dict(state.last_stats)
        if not keep_history:
            self._redo.clear()

    # --- helpers -------------------------------------------------------------------------------------
    def _current(self) -> np.ndarray:
        if self._probs is None:
            return np.zeros(self.image_shape, dtype=np.float32)
        return self._probs.copy()

    def _push_undo(self, state: SessionState) -> None:
        self._undo.append(state)
        if len(self._undo) > self.max_history:
            del self._undo[0]

    def _stats(self, seconds: float) -> dict[str, Any]:
        return {"seconds": seconds, "n_objective_evals": int(self.predictor.n_objective_evals),
                "objective_values": list(self.predictor.objective_values), "mode": self.mode,
                "device": str(self.device), "n_clicks": len(getattr(self, "_clicks", []))}
