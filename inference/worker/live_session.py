"""A worker-side engine session for one object: the mask is a pure function of the click list and its steps.

A request names the object's full click list C (x, y, positive) and its *steps* S: the click counts after which
the network predicted (ascending; the last click is always a step). Between two steps the clicks are recorded in
the engine's state without a prediction (fast-forward), so the network's next prediction sees them all in one
forward pass while its previous-mask input stays the last predicted map. The result F(C, S) therefore depends on
C and S only, not on how requests were coalesced, interrupted, cached or moved between workers: replaying the
same (C, S) anywhere gives the same map, which is how a reload, a reconnect, a worker restart or a move to
another worker shows the very mask the annotator saw. The live path chooses S: a burst of clicks that arrives
while nothing was shown yet gets one prediction at its end (one model latency), and every mask message reports
the S it was computed with; the client keeps it with the clicks (drafts, undo history).

`LiveSession.sync(C, S)` keeps checkpoints (engine state + the encoded mask) at predicted steps and resumes from
the deepest checkpoint that agrees with (C, S): appending a click costs one prediction, an undo to a checkpoint
none, a cold rebuild one prediction per step. A prediction interrupted by the scheduler leaves the checkpoints
intact; the next sync resumes from them.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from inference.worker import interrupt
from inference.worker.memory import held_bytes
from inference.worker.payload import RoiPng, encode_roi_png

ClickTuple = tuple[float, float, bool]   # (x, y, positive) in image pixels
MAX_CHECKPOINTS = 8                      # besides the base; fewer on large images (CHECKPOINT_BYTES)
CHECKPOINT_BYTES = 512 << 20             # budget for one object's checkpoints
CHECKPOINT_BYTES_PER_PIXEL = 8           # at least the previous map and ZoomIn's copy of it, float32 each


def plan_steps(n_clicks: int, steps: Sequence[int]) -> tuple[int, ...]:
    """The steps actually run for `n_clicks` clicks: the given ones within [1, n_clicks], plus n_clicks."""
    if n_clicks <= 0:
        return ()
    return tuple(sorted({int(s) for s in steps if 1 <= int(s) <= n_clicks} | {n_clicks}))


@dataclass(frozen=True)
class Checkpoint:
    """The engine's state after predicting at click count `n`, and the mask it gave (encoded once)."""

    n: int
    clicks: tuple[ClickTuple, ...]
    steps: tuple[int, ...]
    state: Any
    payload: RoiPng


@dataclass
class SyncResult:
    """The encoded map for the requested (clicks, steps), and how the engine got there.

    action: "unchanged" (the engine was there), "append" (predicted from where it was), "undo" (restored a
    checkpoint, no prediction), "restore" (restored an earlier checkpoint, then predicted), "replay" (from the
    object's start). predictions: network predictions made by this sync. steps: the steps of the answer.
    encode_ms: time spent encoding masks (PNG) within the sync."""

    payload: RoiPng
    action: str
    predictions: int
    steps: tuple[int, ...]
    encode_ms: float = 0.0


class LiveSession:
    """Wraps an engine `SegmentationSession` (see the module docstring).

    `shared`: what the engine session shares with others and is counted elsewhere (the prepared template it was
    copied from); `nbytes` leaves its buffers out."""

    def __init__(self, engine_session: Any, make_click: Callable[[float, float, bool], Any],
                 image_shape: tuple[int, int], prev_mask: np.ndarray | None = None,
                 encode: Callable[[np.ndarray], RoiPng] = encode_roi_png, shared: Any = None) -> None:
        self.engine = engine_session
        self.shared = shared
        self.make_click = make_click
        self.encode = encode
        self.height, self.width = image_shape
        if prev_mask is not None:
            self.engine.set_prev_mask(prev_mask)
            start = prev_mask.astype(np.float32, copy=False)
        else:
            start = np.zeros(image_shape, dtype=np.float32)
        per_checkpoint = max(1, CHECKPOINT_BYTES_PER_PIXEL * self.height * self.width)
        self.max_checkpoints = max(2, min(MAX_CHECKPOINTS, CHECKPOINT_BYTES // per_checkpoint))
        self.base = Checkpoint(0, (), (), self._snapshot(), self.encode(start))
        self.checkpoints: list[Checkpoint] = []     # most recently used last
        self.current: Checkpoint | None = self.base  # the checkpoint the engine is at (None: in between)
        self._encode_s = 0.0

    def sync(self, clicks: Sequence[ClickTuple], steps: Sequence[int] = ()) -> SyncResult:
        """Bring the engine to F(clicks, steps) (module docstring) and return its encoded map."""
        clicks = tuple((float(x), float(y), bool(p)) for x, y, p in clicks)
        plan = plan_steps(len(clicks), steps)
        self._encode_s = 0.0
        best = self._deepest(clicks, plan)
        was_current = best is self.current
        if not was_current:
            self.engine.restore(best.state)
            self.current = best
        self._touch(best)
        done, predictions, cp = best.n, 0, best
        for step in plan:
            if step <= done:
                continue
            interrupt.check()
            cp = self._predict(clicks, plan, done, step)
            done, predictions = step, predictions + 1
        if predictions == 0:
            action = "unchanged" if was_current else "undo"
        elif was_current:
            action = "append"
        else:
            action = "restore" if best.n > 0 else "replay"
        return SyncResult(cp.payload, action, predictions, plan, round(self._encode_s * 1e3, 3))

    def _deepest(self, clicks: tuple, plan: tuple[int, ...]) -> Checkpoint:
        """The checkpoint with the most clicks that F(clicks, plan) passes through (the base at least)."""
        best = self.base
        for cp in self.checkpoints:
            if (cp.n > best.n and cp.n in plan and cp.clicks == clicks[:cp.n]
                    and cp.steps == tuple(s for s in plan if s <= cp.n)):
                best = cp
        return best

    def _predict(self, clicks: tuple, plan: tuple[int, ...], done: int, step: int) -> Checkpoint:
        """From the checkpoint at `done` clicks (the engine is there), record clicks done+1..step-1 and predict
        click `step`; returns (and keeps) the new checkpoint."""
        self.current = None                        # until the prediction completes
        if step - 1 > done:                        # fast-forward: recorded, not predicted
            state = self.engine.snapshot()
            skipped = tuple(self.make_click(x, y, p) for x, y, p in clicks[done:step - 1])
            self.engine.restore(dataclasses.replace(state, clicks=tuple(state.clicks) + skipped))
        x, y, positive = clicks[step - 1]
        probs = self._as_map(self.engine.add_click(self.make_click(x, y, positive)))
        t0 = time.perf_counter()
        payload = self.encode(probs)
        self._encode_s += time.perf_counter() - t0
        cp = Checkpoint(step, clicks[:step], tuple(s for s in plan if s <= step), self._snapshot(), payload)
        self.checkpoints = [c for c in self.checkpoints if not (c.n == cp.n and c.clicks == cp.clicks)]
        self.checkpoints.append(cp)
        del self.checkpoints[:-self.max_checkpoints]
        self.current = cp
        return cp

    def _snapshot(self) -> Any:
        """The engine's state without its output map (the checkpoint keeps the encoded map instead)."""
        state = self.engine.snapshot()
        return dataclasses.replace(state, probs=None) if dataclasses.is_dataclass(state) else state

    def _touch(self, cp: Checkpoint) -> None:
        if cp is not self.base and cp in self.checkpoints:
            self.checkpoints.remove(cp)
            self.checkpoints.append(cp)

    def _as_map(self, probs: Any) -> np.ndarray:
        arr = np.asarray(probs, dtype=np.float32)
        if arr.shape != (self.height, self.width):
            raise ValueError(f"engine returned shape {arr.shape}, expected {(self.height, self.width)}")
        return arr

    @property
    def applied(self) -> tuple[ClickTuple, ...]:
        """The clicks of the checkpoint the engine is at (empty when in between)."""
        return self.current.clicks if self.current is not None else ()

    @property
    def nbytes(self) -> int:
        """Bytes this session holds, measured: every array and tensor reachable from the engine session and the
        checkpoints (maps, the engine's state with its cached network features, ZoomIn's copies) plus the encoded
        masks; the shared network and the buffers shared with `shared` (the template's image data, the guided
        filter) are not counted (`inference.worker.memory.held_bytes`)."""
        payload = sum(len(c.payload.png) for c in [self.base, *self.checkpoints])
        exclude = (self.shared,) if self.shared is not None else ()
        return held_bytes(self.engine, self.base, self.checkpoints, exclude=exclude) + payload
