"""One annotator as the browser client behaves, for fault and load tests: open an image's websocket, click an
object (the full click list every time, latest wins), autosave a draft after each click, save the finished
object through the REST API, now and then export the project. Blocking I/O (`websockets.sync` and a
`requests.Session`), so it runs in a thread (fault tests) or a gevent greenlet (Locust).

Faults are survived as the browser survives them: a dropped socket is reopened and the current click list
resent; a REST call that fails with a connection error or a 5xx is retried (with a short pause) until
`retry_for_s` has passed. Every failed attempt is recorded (`Annotator.failures`, and the `record` callback),
so a load test counts it as an error and a fault test measures who was affected and for how long.

Saved work, as the server acknowledged it: `saved` (annotation ids with their clicks) and `drafts` (the last
draft state a PUT returned 2xx for, per image). A fault test compares them with the database afterwards.
"""
from __future__ import annotations

import base64
import io
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image as PILImage
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tools.bench_live.client import ORIGIN, click_plan

Recorder = Callable[[str, str, float, int, "Exception | None"], None]   # (kind, name, ms, bytes, error)
RETRYABLE_WS_CODES = {"timeout", "worker_lost", "no_worker", "inference_failed", "image_unreadable"}


class Transient(Exception):
    """A failure the client retries: connection refused or dropped, 5xx, a click the server gave up on."""


class Fatal(Exception):
    """A failure retrying cannot fix (a 4xx answer, a refused socket): the run is broken."""


@dataclass
class Account:
    """A seeded user (tools/loadtest/seed.py): REST token, session cookie, project, label and own images."""

    username: str
    token: str
    cookie: str
    project: int
    label: int
    images: list[dict]

    @classmethod
    def from_dict(cls, data: dict) -> "Account":
        return cls(**{k: data[k] for k in ("username", "token", "cookie", "project", "label", "images")})


@dataclass
class Failure:
    """One failed attempt: when (time.time()), what, and the error text."""

    at: float
    what: str
    error: str


def mask_from_message(message: dict, width: int, height: int, threshold: int = 128) -> np.ndarray:
    """bool (H, W) mask of a `mask` message: its ROI PNG (probability × 255) thresholded and placed at the ROI."""
    roi = message["roi"]
    png = PILImage.open(io.BytesIO(base64.b64decode(message["png"])))
    probs = np.asarray(png.convert("L"))
    mask = np.zeros((height, width), dtype=bool)
    x, y = int(roi["x"]), int(roi["y"])
    h, w = probs.shape
    mask[y:y + h, x:x + w] = probs[: height - y, : width - x] >= threshold
    return mask


def rle_counts(mask: np.ndarray) -> list[int]:
    """Uncompressed COCO RLE counts of a bool (H, W) mask: column-major run lengths, starting with zeros."""
    flat = np.asarray(mask, dtype=np.int8).ravel(order="F")
    if flat.size == 0:
        return []
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    return ([0] + runs) if flat[0] else runs


@dataclass
class Annotator:
    """One annotator (see the module docstring). `base_url` is the web process for REST, `ws_base` its
    ws:// twin; `http` a requests.Session (under Locust, one patched by gevent)."""

    account: Account
    base_url: str
    http: Any
    record: Recorder | None = None
    rng: random.Random = field(default_factory=random.Random)
    think_s: tuple[float, float] = (0.5, 1.5)
    click_timeout_s: float = 120.0
    retry_for_s: float = 180.0
    retry_pause_s: float = 0.5
    saved: list[dict] = field(default_factory=list)
    drafts: dict[int, dict] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"clicks": 0, "masks": 0, "saves": 0, "drafts": 0,
                                                             "exports": 0, "reconnects": 0, "objects": 0,
                                                             "rebuilds": 0})
    click_ms: list[float] = field(default_factory=list)
    model_ms: list[float] = field(default_factory=list)     # the worker's engine time of each mask
    ws: ClientConnection | None = None
    image: dict | None = None
    seq: int = 0
    clicking: bool = False        # a click was sent and its mask not yet received

    @property
    def ws_base(self) -> str:
        return "ws" + self.base_url[len("http"):]

    # --- bookkeeping --------------------------------------------------------------------------------------
    def _record(self, kind: str, name: str, started: float, size: int = 0, error: Exception | None = None) -> None:
        if error is not None:
            self.failures.append(Failure(time.time(), f"{kind} {name}", repr(error)[:300]))
        if self.record is not None:
            self.record(kind, name, (time.perf_counter() - started) * 1e3, size, error)

    def _retrying(self, what: str, attempt: Callable[[], Any]) -> Any:
        """Run `attempt` until it succeeds; Transient failures are retried for up to `retry_for_s`."""
        deadline = time.monotonic() + self.retry_for_s
        while True:
            try:
                return attempt()
            except Transient:
                if time.monotonic() > deadline:
                    raise Fatal(f"{what}: still failing after {self.retry_for_s:.0f} s") from None
                time.sleep(self.retry_pause_s)

    # --- REST -----------------------------------------------------------------------------------------------
    def _rest(self, method: str, path: str, name: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202, 204),
              stream: bool = False) -> Any:
        """One REST call (token auth); returns the decoded JSON (None for 204, the byte count when `stream`)."""
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.base_url + path, json=body, stream=stream, timeout=120,
                                         headers={"Authorization": f"Token {self.account.token}"})
        except Exception as exc:  # connection refused / reset / timeout: the server is restarting
            self._record("HTTP", name, started, error=exc)
            raise Transient(repr(exc)) from exc
        if stream and response.status_code in ok:
            size = sum(len(chunk) for chunk in response.iter_content(64 * 1024))
            self._record("HTTP", name, started, size)
            return size
        size = len(response.content)
        if response.status_code in ok:
            self._record("HTTP", name, started, size)
            return response.json() if response.content else None
        error = RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
        self._record("HTTP", name, started, size, error)
        if response.status_code >= 500 or response.status_code == 429:
            raise Transient(str(error))
        raise Fatal(str(error))

    # --- websocket ------------------------------------------------------------------------------------------
    def _connect(self) -> None:
        """Open the current image's socket and wait for `ready` (Transient when the server is not reachable)."""
        self.close()
        started = time.perf_counter()
        try:
            ws = connect(f"{self.ws_base}/ws/annotate/{self.image['id']}/", origin=ORIGIN,
                         additional_headers={"Cookie": self.account.cookie}, max_size=2 ** 22, open_timeout=30,
                         close_timeout=2, legacy=True)
        except InvalidStatus as exc:
            self._record("WS", "connect", started, error=exc)
            if exc.response.status_code >= 500:
                raise Transient(repr(exc)) from exc
            raise Fatal(repr(exc)) from exc
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            self._record("WS", "connect", started, error=exc)
            raise Transient(repr(exc)) from exc
        try:
            deadline = time.monotonic() + 60
            while True:
                message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if message["type"] == "ready":
                    break
                if message["type"] == "error":
                    raise Transient(f"socket error before ready: {message}")
        except (ConnectionClosed, TimeoutError, OSError, Transient) as exc:
            ws.close()
            self._record("WS", "connect", started, error=exc)
            if isinstance(exc, ConnectionClosed) and exc.rcvd is not None and 4400 <= exc.rcvd.code < 4500:
                raise Fatal(f"socket refused: {exc.rcvd.code}") from exc
            raise Transient(repr(exc)) from exc
        self._record("WS", "connect", started)
        self.ws = ws

    def open(self, image: dict) -> None:
        """Work on `image` ({"id", "width", "height"}): open its socket (retrying while the server is down)."""
        self.image = image
        self._retrying("connect", self._connect)

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001 - closing a broken socket
                pass
            self.ws = None

    def _click_once(self, object_id: str, clicks: list[dict]) -> dict:
        if self.ws is None:
            self.counts["reconnects"] += 1
            self._connect()
        self.seq += 1
        seq = self.seq
        started = time.perf_counter()
        self.clicking = True
        try:
            self.ws.send(json.dumps({"type": "click", "seq": seq, "object_id": object_id, "clicks": clicks}))
            deadline = time.monotonic() + self.click_timeout_s
            while True:
                raw = self.ws.recv(timeout=max(0.05, deadline - time.monotonic()))
                message = json.loads(raw)
                if message["type"] == "mask" and message["seq"] == seq:
                    self.click_ms.append((time.perf_counter() - started) * 1e3)
                    self.model_ms.append(float(message.get("model_ms") or 0.0))
                    self._record("WS", "click", started, len(raw))
                    return message
                if message["type"] == "error" and message.get("seq") in (seq, None):
                    error = RuntimeError(f"{message.get('code')}: {message.get('message')}")
                    self._record("WS", "click", started, error=error)
                    if message.get("code") in RETRYABLE_WS_CODES:
                        raise Transient(str(error))
                    raise Fatal(str(error))
        except (ConnectionClosed, TimeoutError, OSError) as exc:
            self._record("WS", "click", started, error=exc)
            self.close()
            raise Transient(repr(exc)) from exc
        finally:
            self.clicking = False

    def click(self, object_id: str, clicks: list[dict]) -> dict:
        """Send the object's full click list and return its `mask` message (reconnecting and resending while
        the stack recovers from a fault)."""
        self.counts["clicks"] += 1
        message = self._retrying("click", lambda: self._click_once(object_id, clicks))
        self.counts["masks"] += 1
        if len(clicks) > 1 and message.get("cache_hit") is False:
            self.counts["rebuilds"] += 1      # the worker no longer held the object: rebuilt from the click list
        return message

    # --- what a person does -----------------------------------------------------------------------------------
    def autosave(self, state: dict) -> None:
        """PUT the draft of the current image (retried); remembered once acknowledged."""
        image_id = self.image["id"]
        self._retrying("draft", lambda: self._rest("PUT", f"/api/images/{image_id}/draft/", "draft",
                                                   {"state": state}))
        self.drafts[image_id] = state
        self.counts["drafts"] += 1

    def save(self, object_id: str, clicks: list[dict], mask: np.ndarray, edit_seconds: float) -> int | None:
        """POST the finished object (retried); returns its id (None when the mask came out empty: not saved)."""
        if not mask.any():
            return None
        body = {"image": self.image["id"], "label": self.account.label, "clicks": clicks,
                "rle": {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": rle_counts(mask)},
                "edit_seconds": round(edit_seconds, 2)}
        created = self._retrying("save", lambda: self._rest("POST", "/api/annotations/", "save", body))
        self.saved.append({"id": created["id"], "image": self.image["id"], "object_id": object_id,
                           "clicks": clicks})
        self.counts["saves"] += 1
        return created["id"]

    def annotate_object(self, n_clicks: int = 4, think: bool = True, finish: bool = True) -> int | None:
        """Click one object `n_clicks` times (autosaving a draft after each mask) and, with `finish`, save it."""
        image = self.image
        plan = click_plan(image["width"], image["height"], self.rng, per_object=n_clicks)
        self.counts["objects"] += 1
        object_id = f"{self.account.username}-{self.counts['objects']}"
        started, clicks, message = time.monotonic(), [], None
        for _ in range(n_clicks):
            _, clicks = next(plan)
            message = self.click(object_id, clicks)
            self.autosave({"version": 1, "object_id": object_id, "annotation_id": None, "label": self.account.label,
                           "clicks": clicks, "strokes": [], "edit_seconds": round(time.monotonic() - started, 2)})
            if think:
                time.sleep(self.rng.uniform(*self.think_s))
        if not finish:
            return None
        mask = mask_from_message(message, image["width"], image["height"])
        return self.save(object_id, clicks, mask, time.monotonic() - started)

    def export(self, fmt: str = "coco-rle", poll_s: float = 1.0, timeout_s: float = 300.0) -> int:
        """Start an export job of the project (every status), wait for it, download it; returns the bytes."""
        job = self._retrying("export", lambda: self._rest(
            "POST", f"/api/projects/{self.account.project}/exports/", "export",
            {"format": fmt, "statuses": ["new", "in_progress", "annotated", "in_review", "accepted", "rejected"]}))
        deadline = time.monotonic() + timeout_s
        while True:
            state = self._retrying("export status", lambda: self._rest("GET", f"/api/exports/{job['id']}/",
                                                                       "export status"))
            if state["status"] == "done":
                break
            if state["status"] == "failed" or time.monotonic() > deadline:
                error = RuntimeError(f"export {job['id']}: {state['status']} {state.get('error')}")
                self._record("HTTP", "export job", time.perf_counter(), error=error)
                raise Fatal(str(error))
            time.sleep(poll_s)
        size = self._retrying("download", lambda: self._rest("GET", f"/api/exports/{job['id']}/download/",
                                                             "export download", stream=True))
        self.counts["exports"] += 1
        return size
