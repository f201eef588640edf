"""The worker's click service: image cache + session cache + model holder -> mask message fields.

Pure Python (no Celery, no Redis): `tasks.py` wraps it with latest-wins checks and channel sends.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

import numpy as np

from inference.worker.cache import LRUCache
from inference.worker.images import load_rgb, rle_to_float_mask
from inference.worker.live_session import MAX_UNDO_STEPS, LiveSession
from inference.worker.model_holder import ModelHolder
from inference.worker.payload import encode_roi_png
from inference.worker.requests import ClickRequest, ImageRef, RequestError

ENGINE_HISTORY = MAX_UNDO_STEPS + 2   # undo snapshots kept by the engine (each holds an (H, W) map)
ENV_REFINE = "CLICKLABEL_WORKER_REFINE"
DEFAULT_REFINE = "4,1e-3"   # guided-filter refinement of the maps (docs/model_card.md, "Guided-filter refinement")
# Per-mode departures from the reference predictor settings, each adopted on validation (docs/model_card.md,
# "f-BRS-B optimisation budget on validation"): f-BRS-B starts every click's optimisation from the identity and
# gives the network every click (reference: warm start, first 8 clicks). $CLICKLABEL_WORKER_BRS = "adopted"
# (default) applies them, "reference" runs every mode with the reference settings.
LIVE_MODE_SETTINGS: dict[str, dict[str, Any]] = {"f-brs-b": {"brs_warm_start": False, "net_clicks_limit": None}}
ENV_BRS = "CLICKLABEL_WORKER_BRS"
DEFAULT_BRS = "adopted"

SessionFactory = Callable[[Any, np.ndarray, str], Any]
ClickFactory = Callable[[float, float, bool], Any]


def refine_setting(value: str) -> Any:
    """`inference.refine.GuidedFilterParams` from a $CLICKLABEL_WORKER_REFINE value: "off", or "RADIUS,EPS"
    (e.g. "4,1e-3"). Raises ValueError with the expected form for anything else."""
    from inference.refine import GuidedFilterParams

    text = value.strip().lower()
    if text in {"off", "none", "0", ""}:
        return None
    try:
        radius, eps = text.split(",")
        return GuidedFilterParams(radius=int(radius), eps=float(eps))
    except ValueError as exc:
        raise ValueError(f"CLICKLABEL_WORKER_REFINE must be 'off' or 'RADIUS,EPS' such as '4,1e-3'; got {value!r} "
                         f"({exc})") from None


def mode_settings(mode: str, value: str) -> dict[str, Any]:
    """`SegmentationSession` keyword settings for `mode` under a $CLICKLABEL_WORKER_BRS value: "adopted" →
    `LIVE_MODE_SETTINGS[mode]` (empty for modes without any), "reference" → none. Raises ValueError otherwise."""
    text = value.strip().lower()
    if text not in {"adopted", "reference"}:
        raise ValueError(f"CLICKLABEL_WORKER_BRS must be 'adopted' or 'reference'; got {value!r}")
    return dict(LIVE_MODE_SETTINGS.get(mode, {})) if text == "adopted" else {}


def engine_session_factory(model: Any, image: np.ndarray, mode: str) -> Any:
    """A new `inference.session.SegmentationSession` on uint8 (H, W, 3) RGB `image` (evaluation ZoomIn,
    flip, longest side limited to $CLICKLABEL_WORKER_MAX_SIZE, default 800, like the reference demos;
    guided-filter refinement per $CLICKLABEL_WORKER_REFINE, default `DEFAULT_REFINE`, never for GrabCut;
    the mode's `LIVE_MODE_SETTINGS` unless $CLICKLABEL_WORKER_BRS is "reference")."""
    from inference.session import SegmentationSession

    max_size = int(os.environ.get("CLICKLABEL_WORKER_MAX_SIZE", "800")) or None
    refine = None if model is None else refine_setting(os.environ.get(ENV_REFINE, DEFAULT_REFINE))
    return SegmentationSession(model, image, mode=mode, max_size=max_size, max_history=ENGINE_HISTORY,
                               refine=refine, **mode_settings(mode, os.environ.get(ENV_BRS, DEFAULT_BRS)))


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
        """uint8 (H, W, 3) RGB of `ref`, decoded once and cached; checks the size the web side sent."""
        key = (ref.id, ref.path)
        img = self.images.get(key)
        if img is None:
            img = load_rgb(ref.path)
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
                   "sync": result.action, "engine_clicks": result.engine_clicks, "cache_hit": cache_hit}
        if resolved.fallback:
            message["fallback"] = "grabcut"
            message["fallback_reason"] = resolved.reason
        return message
