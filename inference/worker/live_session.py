"""A worker-side engine session for one object, kept in sync with the client's full click list.

The client always sends the whole click list (latest wins). `LiveSession.sync` brings the engine
session to that list with the fewest engine calls: append the new clicks when the cached list is a
prefix, undo when the new list is a short prefix of the cached one, otherwise reset and replay every
click (this is also how state is rebuilt after a cache miss, a worker restart or a reassignment).

Fast-forward (default): when several clicks must be added at once (a coalesced burst, a rebuild), only
the last one is predicted; the others are recorded in the engine's state through its public
snapshot/restore, so the prediction sees the whole list in one forward pass (one model latency instead
of k). Exact for GrabCut and for networks without a previous-mask input; for ITER-M and BRS modes the
intermediate predictions (previous mask, optimiser warm start) are skipped. `fast_forward=False`
(env CLICKLABEL_WORKER_REPLAY=exact) replays click by click, as the reference evaluation does.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from inference.worker.memory import held_bytes

ClickTuple = tuple[float, float, bool]   # (x, y, positive) in image pixels
MAX_UNDO_STEPS = 3


@dataclass
class SyncResult:
    """Probabilities float32 (H, W) after the sync, and how the engine got there."""

    probs: np.ndarray
    action: str           # "append", "undo", "unchanged", "replay"
    engine_clicks: int    # clicks fed to the engine by this sync


class LiveSession:
    """Wraps an engine SegmentationSession; remembers the clicks applied and the last probabilities."""

    def __init__(self, engine_session: Any, make_click: Callable[[float, float, bool], Any],
                 image_shape: tuple[int, int], prev_mask: np.ndarray | None = None,
                 fast_forward: bool | None = None) -> None:
        self.engine = engine_session
        if fast_forward is None:
            fast_forward = os.environ.get("CLICKLABEL_WORKER_REPLAY", "fast") != "exact"
        self.fast_forward = fast_forward
        self.floor = 0    # undo is exact only back to this many clicks (states before a fast-forward are not)
        self.make_click = make_click
        self.height, self.width = image_shape
        self.prev_mask = prev_mask
        self.applied: list[ClickTuple] = []
        self.probs = np.zeros(image_shape, dtype=np.float32)
        if prev_mask is not None:
            self.engine.set_prev_mask(prev_mask)
            self.probs = prev_mask.astype(np.float32, copy=True)

    def sync(self, wanted: Sequence[ClickTuple]) -> SyncResult:
        """Bring the engine to exactly `wanted` clicks; returns the probability map for it."""
        wanted = [tuple(c) for c in wanted]
        common = 0
        for a, b in zip(self.applied, wanted):
            if a != b:
                break
            common += 1
        if common == len(self.applied) == len(wanted):
            return SyncResult(self.probs, "unchanged", 0)
        if common == len(self.applied):
            return SyncResult(self._add(wanted[common:]), "append", len(wanted) - common)
        if common == len(wanted) and common >= self.floor and len(self.applied) - common <= MAX_UNDO_STEPS:
            probs = self.probs
            while len(self.applied) > common:
                probs = self.engine.undo()
                self.applied.pop()
            self.probs = self._as_map(probs)
            return SyncResult(self.probs, "undo", 0)
        self._reset()
        probs = self._add(wanted) if wanted else self.probs
        return SyncResult(probs, "replay", len(wanted))

    def _add(self, clicks: Sequence[ClickTuple]) -> np.ndarray:
        probs = self.probs
        if self.fast_forward and len(clicks) > 1:
            state = self.engine.snapshot()
            skipped = tuple(self.make_click(x, y, p) for x, y, p in clicks[:-1])
            self.engine.restore(dataclasses.replace(state, clicks=tuple(state.clicks) + skipped))
            self.applied.extend(clicks[:-1])
            clicks = clicks[-1:]
            self.floor = len(self.applied) + 1
        for x, y, positive in clicks:
            probs = self.engine.add_click(self.make_click(x, y, positive))
            self.applied.append((x, y, positive))
        self.probs = self._as_map(probs)
        return self.probs

    def _reset(self) -> None:
        self.engine.reset()
        self.applied = []
        self.floor = 0
        self.probs = np.zeros((self.height, self.width), dtype=np.float32)
        if self.prev_mask is not None:
            self.engine.set_prev_mask(self.prev_mask)
            self.probs = self.prev_mask.astype(np.float32, copy=True)

    def _as_map(self, probs: Any) -> np.ndarray:
        if probs is None:
            return np.zeros((self.height, self.width), dtype=np.float32)
        arr = np.asarray(probs, dtype=np.float32)
        if arr.shape != (self.height, self.width):
            raise ValueError(f"engine returned shape {arr.shape}, expected {(self.height, self.width)}")
        return arr

    @property
    def nbytes(self) -> int:
        """Bytes this session holds, measured: every array and tensor reachable from the engine session (its
        image copy, maps, undo snapshots with their cached features, the guided filter's statistics) and our own
        maps; the shared network is not counted (`inference.worker.memory.held_bytes`)."""
        return held_bytes(self.engine, self.probs, self.prev_mask)
