"""The worker's click service: images, engine-session templates, object sessions, models -> mask message fields.

Pure Python (no Celery, no Redis): `jobs.py` runs it from the scheduler's threads and sends the replies.

- Images are decoded once (LRU); a thread that needs an image another thread is decoding waits for that decode.
- A *template* per (image, model, mode) is an engine session with the image-dependent work done (input tensor,
  guided-filter statistics: ~2 s at 4000×3000 on a busy 2-core CPU); preparing an image (warm-up, prefetch) builds
  it, and every object on the image starts from a copy that shares those arrays (`clone_session`; the arrays of
  nested predictors too, e.g. the SAM-class network's image embedding and the finishing network's input).
- Images come from a local file, or from the bytes behind `ImageRef.url` when media live on S3 (a presigned GET).
- Caches are bounded by measured bytes (`inference.worker.memory.held_bytes`): a template by everything it holds,
  an object session by what it holds beyond its template (checkpoints with the engine's state, cached network
  features included).
- Object sessions (`LiveSession`) are keyed by annotation session (user + image), object, model, mode and
  previous mask, so a reload or a reconnect finds them; their results never depend on the cache (a miss
  replays the click list with its steps). At most `max_sessions_per_user` per user: a user who opens many objects
  evicts their own oldest, never someone else's.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from typing import Any, Callable, Hashable

import numpy as np

from inference.worker.cache import LRUCache
from inference.worker.images import fetch_bytes, load_rgb, rle_to_float_mask
from inference.worker.live_session import LiveSession
from inference.worker.memory import held_bytes
from inference.worker.model_holder import ModelHolder, Resolved
from inference.worker.requests import ClickRequest, ImageRef, RequestError

ENGINE_HISTORY = 0   # the engine's own undo stack is unused: LiveSession keeps checkpoints
ENV_PRESET = "CLICKLABEL_WORKER_PRESET"   # the predictor settings the worker runs (`inference.predictors.presets`)
SESSIONS_PER_USER = 16

SessionFactory = Callable[[Any, np.ndarray, str], Any]
ClickFactory = Callable[[float, float, bool], Any]
Notify = Callable[[str], None]


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


def _is_predictor(value: Any) -> bool:
    return callable(getattr(value, "set_input_image", None)) and callable(getattr(value, "predict", None))


def _shared_members(session: Any) -> list[Any]:
    """The image-sized or immutable members of a fresh session, of its predictor and of the predictors nested in
    it (a combination's SAM-class and finishing predictors) that copies may share: arrays, tensors, networks, the
    guided filter and frozen dataclasses such as the SAM-class image embedding (never modified in place; replaced
    when they change)."""
    import torch

    from inference.postprocess.guided_filter import GuidedRefiner

    heavy = (np.ndarray, torch.Tensor, torch.nn.Module, GuidedRefiner)
    out: list[Any] = []
    owners, seen = [session], set()
    while owners:
        owner = owners.pop()
        if id(owner) in seen:
            continue
        seen.add(id(owner))
        for value in vars(owner).values():
            frozen = (dataclasses.is_dataclass(value) and not isinstance(value, type)
                      and value.__dataclass_params__.frozen)
            if isinstance(value, heavy) or frozen:
                out.append(value)
            elif value is not owner and (_is_predictor(value) or value is getattr(session, "predictor", None)):
                owners.append(value)
    return out


def clone_session(template: Any) -> Any:
    """A fresh engine session equal to `template` (a session with no clicks yet) that shares its image data."""
    memo = {id(value): value for value in _shared_members(template)}
    return copy.deepcopy(template, memo)


def template_nbytes(session: Any) -> int:
    """Bytes a template holds, measured (`held_bytes`: the image, its tensors, the guided filter's statistics, a
    SAM-class embedding; the shared network not counted)."""
    return held_bytes(session)


def engine_click(x: float, y: float, positive: bool) -> Any:
    """An `inference.clicks.Click` at (x, y) in image pixels."""
    from inference.clicks import Click

    return Click(x=x, y=y, positive=positive)


def env_int(name: str, default: int) -> int:
    """An integer from the environment (plain integer), `default` when unset."""
    return int(os.environ.get(name, default))


class LiveEngine:
    """Holds one worker process's images, templates, sessions and models; prepares images, answers clicks."""

    def __init__(self, holder: ModelHolder | None = None, session_factory: SessionFactory = engine_session_factory,
                 click_factory: ClickFactory = engine_click, clone: Callable[[Any], Any] = clone_session,
                 image_cache_bytes: int | None = None, session_cache_bytes: int | None = None,
                 template_cache_bytes: int | None = None, max_sessions: int = 64,
                 max_sessions_per_user: int | None = None) -> None:
        self.holder = holder or ModelHolder()
        self.session_factory = session_factory
        self.click_factory = click_factory
        self.clone = clone
        self.images: LRUCache[np.ndarray] = LRUCache(
            16, image_cache_bytes or env_int("CLICKLABEL_WORKER_IMAGE_CACHE_BYTES", 1 << 30))
        self.templates: LRUCache[Any] = LRUCache(
            8, template_cache_bytes or env_int("CLICKLABEL_WORKER_TEMPLATE_CACHE_BYTES", 1 << 30))
        self.sessions: LRUCache[LiveSession] = LRUCache(
            max_sessions, session_cache_bytes or env_int("CLICKLABEL_WORKER_SESSION_CACHE_BYTES", 2 << 30),
            on_evict=self._evicted)
        self.max_sessions_per_user = max_sessions_per_user or env_int("CLICKLABEL_WORKER_SESSIONS_PER_USER",
                                                                      SESSIONS_PER_USER)
        self._lock = threading.Lock()
        self._loading: dict[Hashable, Future] = {}
        self._owners: dict[str, OrderedDict] = {}

    # --- images and templates --------------------------------------------------------------------------
    def _once(self, cache: LRUCache, key: Hashable, build: Callable[[], tuple[Any, int]]) -> tuple[Any, bool]:
        """`cache[key]`, built by `build() -> (value, nbytes)` at most once at a time across threads; returns
        (value, True when this call built it)."""
        with self._lock:
            value = cache.get(key)
            if value is not None:
                return value, False
            future = self._loading.get(key)
            owner = future is None
            if owner:
                future = self._loading[key] = Future()
        if not owner:
            return future.result(), False
        try:
            value, nbytes = build()
            cache.put(key, value, nbytes)
            future.set_result(value)
            return value, True
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._loading.pop(key, None)

    def image(self, ref: ImageRef) -> np.ndarray:
        """uint8 (H, W, 3) RGB of `ref` (its local file, or the bytes behind its URL), decoded once and cached;
        checks the size the web side sent."""
        return self._image(ref)[0]

    def _image(self, ref: ImageRef) -> tuple[np.ndarray, bool]:
        def build() -> tuple[np.ndarray, int]:
            img = load_rgb(fetch_bytes(ref.url) if ref.url else ref.path)
            if img.shape[:2] != (ref.height, ref.width):
                raise RequestError("image_mismatch", f"image file is {img.shape[1]}x{img.shape[0]}, "
                                                     f"database says {ref.width}x{ref.height}")
            return img, img.nbytes

        return self._once(self.images, ("image", ref.id, ref.path), build)

    def _template_key(self, ref: ImageRef, model: str, resolved: Resolved) -> tuple:
        return ("template", ref.id, ref.path, model if resolved.model is not None else "", resolved.mode)

    def _template(self, ref: ImageRef, model: str, resolved: Resolved) -> tuple[Any, bool]:
        def build() -> tuple[Any, int]:
            session = self.session_factory(resolved.model, self.image(ref), resolved.mode)
            return session, template_nbytes(session)

        return self._once(self.templates, self._template_key(ref, model, resolved), build)

    def is_prepared(self, ref: ImageRef, model: str, mode: str) -> bool:
        """Whether the image is decoded and its template for (model, mode) built (a click starts at once)."""
        key = self._template_key(ref, model, self.holder.resolve(model, mode))
        return key in self.templates

    def prepare(self, ref: ImageRef, model: str, mode: str) -> dict:
        """Decode the image and build its template for (model, mode); timings in ms, `cached` when both were
        already there."""
        t0 = time.perf_counter()
        resolved = self.holder.resolve(model, mode)
        _, decoded = self._image(ref)
        t1 = time.perf_counter()
        _, built = self._template(ref, model, resolved)
        t2 = time.perf_counter()
        return {"image_id": ref.id, "decode_ms": round((t1 - t0) * 1e3, 3), "prepare_ms": round((t2 - t1) * 1e3, 3),
                "cached": not (decoded or built), "mode": resolved.mode, "fallback": resolved.fallback}

    def warm_model(self, model: str, mode: str, size: int = 64) -> float:
        """Load `model` and run one click on a small blank image (the process's first forward pays for the
        library's set-up, not an annotator's first click); returns the seconds it took."""
        t0 = time.perf_counter()
        resolved = self.holder.resolve(model, mode)
        if resolved.model is not None:
            session = self.session_factory(resolved.model, np.full((size, size, 3), 127, np.uint8), resolved.mode)
            session.add_click(self.click_factory(size / 2, size / 2, True))
        return time.perf_counter() - t0

    # --- clicks ------------------------------------------------------------------------------------------
    def click(self, req: ClickRequest, notify: Notify | None = None) -> dict:
        """Bring the object's session to (req.clicks, req.steps); returns the `mask` message fields (no type).
        `notify(state)` is told "preparing" when the image must be decoded or prepared first, then "computing"."""
        resolved = self.holder.resolve(req.model, req.mode)
        prev_key = None
        if req.prev_mask is not None:
            digest = hashlib.sha1(json.dumps(req.prev_mask.rle, sort_keys=True).encode()).hexdigest()
            prev_key = (req.prev_mask.annotation_id, digest)
        key = (req.session, req.object_id, req.model, resolved.mode, prev_key)
        owner = req.session.split(".", 1)[0]
        t0 = time.perf_counter()
        live = self.sessions.get(key)
        cache_hit = live is not None
        prepare_ms = 0.0
        if live is None:
            if notify is not None and not self.is_prepared(req.image, req.model, req.mode):
                notify("preparing")
            template, _ = self._template(req.image, req.model, resolved)
            prev = None
            if req.prev_mask is not None:
                try:
                    prev = rle_to_float_mask(req.prev_mask.rle, req.image.height, req.image.width)
                except (ValueError, TypeError, KeyError, UnicodeError) as exc:
                    raise RequestError("bad_prev_mask", str(exc)) from exc
            t1 = time.perf_counter()
            prepare_ms, t0 = (t1 - t0) * 1e3, t1
            live = LiveSession(self.clone(template), self.click_factory, (req.image.height, req.image.width), prev,
                               shared=template)
            self._remember(owner, key, live)
        else:
            self._touch(owner, key)
        if notify is not None:
            notify("computing")
        result = live.sync(req.clicks, req.steps)
        model_ms = (time.perf_counter() - t0) * 1e3 - result.encode_ms   # engine time; the PNG is the stack's
        self.sessions.resize(key, live.nbytes)
        message = {"seq": req.seq, "object_id": req.object_id, **result.payload.as_message(),
                   "model_ms": round(model_ms, 3), "encode_ms": result.encode_ms,
                   "device": self.holder.device_name(resolved), "mode": resolved.mode,
                   "model": req.model if resolved.model is not None else "",
                   "steps": list(result.steps), "sync": result.action, "engine_clicks": result.predictions,
                   "cache_hit": cache_hit}
        if prepare_ms:
            message["prepare_ms"] = round(prepare_ms, 3)
        if resolved.fallback:
            message["fallback"] = "grabcut"
            message["fallback_reason"] = resolved.reason
        return message

    # --- per-user bound on sessions ------------------------------------------------------------------------
    def _remember(self, owner: str, key: Hashable, live: LiveSession) -> None:
        with self._lock:
            order = self._owners.setdefault(owner, OrderedDict())
            order[key] = None
            excess = list(order)[:max(0, len(order) - self.max_sessions_per_user)]
        for old in excess:
            self.sessions.pop(old)
            self._forget(old)
        self.sessions.put(key, live, live.nbytes)

    def _touch(self, owner: str, key: Hashable) -> None:
        with self._lock:
            order = self._owners.get(owner)
            if order is not None and key in order:
                order.move_to_end(key)

    def _forget(self, key: Hashable) -> None:
        with self._lock:
            for owner, order in list(self._owners.items()):
                if order.pop(key, 0) is None and not order:
                    del self._owners[owner]

    def _evicted(self, key: Hashable, value: Any) -> None:
        self._forget(key)

    def sessions_of(self, owner: str) -> int:
        """How many object sessions user `owner` ("u<id>") holds on this worker."""
        with self._lock:
            return len(self._owners.get(owner, ()))
