"""The worker's click service: image cache + session cache + model holder -> mask message fields.

Pure Python (no Celery, no Redis): `tasks.py` wraps it with latest-wins checks and channel sends.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

import numpy as np

from inference.worker.cache import LRUCache
from inference.worker.images import fetch_bytes, load_rgb, rle_to_float_mask
from inference.worker.live_session import MAX_UNDO_STEPS, LiveSession
from inference.worker.model_holder import ModelHolder
from inference.worker.payload import encode_roi_png
from inference.worker.requests import ClickRequest, ImageRef, RequestError

ENGINE_HISTORY = MAX_UNDO_STEPS + 2   # undo snapshots kept by the engine (each holds an (H, W) map)
ENV_PRESET = "CLICKLABEL_WORKER_PRESET"   # the predictor settings the worker runs (`inference.predictors.presets`)

SessionFactory = Callable[[Any, np.ndarray, str], Any]
ClickFactory = Callable[[float, float, bool], Any]


def worker_preset() -> Any:
    """The `inference.predictors.presets.Preset` named by $CLICKLABEL_WORKER_PRESET (default "app");
    ValueError naming the known presets otherwise."""
    from inference.predictors.presets import DEFAULT_PRESET, get_preset
    try:
        return get_preset(os.environ.get(ENV_PRESET, DEFAULT_PRESET))
    except ValueError as exc:
        raise ValueError(f"{ENV_PRESET}: {exc}") from None


def engine_session_factory(model: Any, image: np.ndarray, mode: str) -> Any:
    """A new `inference.session.SegmentationSession` on uint8 (H, W, 3) RGB `image` with the worker preset's
    settings for `mode` (`worker_preset`; the app's by default: the evaluation's ZoomIn and flip, longest side
    800, the guided filter, f-BRS-B cold-started with every click given to the network)."""
    from inference.session import SegmentationSession

    return SegmentationSession(model, image, mode=mode, config=worker_preset().config(mode),
                               max_history=ENGINE_HISTORY)


def engine_click(x: float, y: float, positive: bool) -> Any:
    """An `inference.clicks.Click` at (x, y) in image pixels."""
    from inference.clicks import Click

    return Click(x=x, y=y, positive=positive)


def env_bytes(name: str, default: int) -> int:
    """An integer byte budget from the environment (plain integer bytes)."""
    return int(os.environ.get(name, default))


class LiveEngine:
    """Holds one worker process's images, sessions and models; answers click requests."""

    def __init__(self, holder: ModelHolder | None = None, session_factory: SessionFactory = engine_session_factory,
                 click_factory: ClickFactory = engine_click, image_cache_bytes: int | None = None,
                 session_cache_bytes: int | None = None, max_sessions: int = 64) -> None:
        self.holder = holder or ModelHolder()
        self.session_factory = session_factory
        self.click_factory = click_factory
        self.images: LRUCache[np.ndarray] = LRUCache(
            16, image_cache_bytes or env_bytes("CLICKLABEL_WORKER_IMAGE_CACHE_BYTES", 1 << 30))
        self.sessions: LRUCache[LiveSession] = LRUCache(
            max_sessions, session_cache_bytes or env_bytes("CLICKLABEL_WORKER_SESSION_CACHE_BYTES", 2 << 30))

    def image(self, ref: ImageRef) -> np.ndarray:
        """uint8 (H, W, 3) RGB of `ref` (its local file, or the bytes behind its URL), decoded once and cached;
        checks the size the web side sent."""
        key = (ref.id, ref.path)
        img = self.images.get(key)
        if img is None:
            img = load_rgb(fetch_bytes(ref.url) if ref.url else ref.path)
            if img.shape[:2] != (ref.height, ref.width):
                raise RequestError("image_mismatch", f"image file is {img.shape[1]}x{img.shape[0]}, "
                                                     f"database says {ref.width}x{ref.height}")
            self.images.put(key, img, img.nbytes)
        return img

    def warm(self, ref: ImageRef, model: str, mode: str) -> dict:
        """Decode the image, load the model and run one forward pass; returns timings in ms."""
        t0 = time.perf_counter()
        img = self.image(ref)
        t1 = time.perf_counter()
        resolved = self.holder.resolve(model, mode)
        if resolved.model is not None:  # GrabCut has nothing to warm beyond the decode
            session = self.session_factory(resolved.model, img, resolved.mode)
            session.add_click(self.click_factory(ref.width / 2, ref.height / 2, True))
        t2 = time.perf_counter()
        return {"image_id": ref.id, "decode_ms": (t1 - t0) * 1e3, "forward_ms": (t2 - t1) * 1e3,
                "mode": resolved.mode, "fallback": resolved.fallback}

    def click(self, req: ClickRequest) -> dict:
        """Sync the object's session to `req.clicks`; returns the `mask` message fields (no type)."""
        img = self.image(req.image)
        resolved = self.holder.resolve(req.model, req.mode)
        prev_id = req.prev_mask.annotation_id if req.prev_mask else None
        key = (req.sid, req.object_id, req.model, resolved.mode, prev_id)   # per connection: tabs never collide
        t0 = time.perf_counter()
        live = self.sessions.get(key)
        cache_hit = live is not None
        if live is None:
            prev = None
            if req.prev_mask is not None:
                try:
                    prev = rle_to_float_mask(req.prev_mask.rle, req.image.height, req.image.width)
                except (ValueError, TypeError, KeyError) as exc:
                    raise RequestError("bad_prev_mask", str(exc)) from exc
            engine = self.session_factory(resolved.model, img, resolved.mode)
            live = LiveSession(engine, self.click_factory, (req.image.height, req.image.width), prev)
            self.sessions.put(key, live, live.nbytes)
        result = live.sync(req.clicks)
        model_ms = (time.perf_counter() - t0) * 1e3
        self.sessions.resize(key, live.nbytes)
        roi = encode_roi_png(result.probs)
        message = {"seq": req.seq, "object_id": req.object_id, **roi.as_message(), "model_ms": round(model_ms, 3),
                   "device": self.holder.device_name(resolved), "mode": resolved.mode,
                   "model": req.model if resolved.model is not None else "",
                   "sync": result.action, "engine_clicks": result.engine_clicks, "cache_hit": cache_hit}
        if resolved.fallback:
            message["fallback"] = "grabcut"
            message["fallback_reason"] = resolved.reason
        return message
