"""What the scheduler's jobs do on a click worker, and the messages they send to the consumer.

Messages (channel layer, handled by labeling/consumers.py): `live.status` {seq, state: "queued" (with
`position`, the jobs ahead) | "preparing" | "computing"}, `live.mask` {seq, object_id, roi, png, steps, model_ms,
device, mode, worker, timing, ...}, `live.error` {seq, code, message}, `live.warm` {image_id, ok, cached,
decode_ms, prepare_ms, ...}. Messages never carry a host path (an unreadable image, a failed engine or warm-up is
named by a code and the error's type; the worker log has the details). A click dropped by the scheduler (a newer click of the same connection exists, or the
connection closed) gets no message: the consumer only waits for the newest one.
"""
from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from inference.worker import interrupt
from inference.worker.images import ImageLoadError
from inference.worker.requests import ClickRequest, ImageRef, RequestError
from inference.worker.scheduler import CLICK, OPEN, PREFETCH, Job, Scheduler

log = logging.getLogger(__name__)

CLICK_LIMIT_S = 60.0   # a click still running after this long is stopped with `timeout`


class Replies:
    """Sends `live.*` messages to consumers' channels; never raises (a closed tab is not an error)."""

    def __init__(self, sender: Any, queue: str) -> None:
        self.sender, self.queue = sender, queue

    def send(self, channel: str, message: dict, wait: bool = True) -> None:
        if not channel:
            return
        try:
            self.sender.send(channel, {**message, "worker": self.queue}, wait=wait)
        except Exception as exc:
            log.info("could not reply on %s: %r", channel, exc)


class LiveRunner:
    """Runs click and preparation jobs on a `LiveEngine` and replies through `Replies`."""

    def __init__(self, engine: Any, replies: Replies) -> None:
        self.engine, self.replies = engine, replies

    # --- submitting (called from the Celery task, i.e. the worker's main thread) ---------------------------
    def click_job(self, req: ClickRequest, received: float) -> Job:
        return Job(CLICK, key=req.sid, sid=req.sid, seq=req.seq, payload=(req, received),
                   deadline=time.monotonic() + CLICK_LIMIT_S)

    def prepare_job(self, payload: dict) -> Job | None:
        """A preparation job for a warm-up payload, or None when the image is already prepared (answered now)."""
        channel = str(payload.get("reply_channel") or "")
        kind = PREFETCH if payload.get("kind") == "prefetch" else OPEN
        try:
            ref = ImageRef.from_payload(payload["image"])
            model, mode = str(payload["model"]), str(payload["mode"])
            prepared = self.engine.is_prepared(ref, model, mode)
        except Exception as exc:  # a malformed payload or an unknown model: the warm-up is best effort
            log.warning("warm-up refused: %r", exc)
            self.replies.send(channel, {"type": "live.warm", "ok": False, "error": type(exc).__name__})
            return None
        if prepared:
            self.replies.send(channel, {"type": "live.warm", "image_id": ref.id, "ok": True, "cached": True,
                                        "kind": kind, "decode_ms": 0.0, "prepare_ms": 0.0})
            return None
        return Job(kind, key=(ref.id, ref.path, model, mode), sid=str(payload.get("sid") or ""),
                   payload=(ref, model, mode), waiters=[channel] if channel else [])

    # --- running (the scheduler's threads) --------------------------------------------------------------
    def run(self, job: Job) -> None:
        if job.kind == CLICK:
            self.run_click(job)
        else:
            self.run_prepare(job)

    def run_click(self, job: Job) -> None:
        req, received = job.payload
        started = time.time()
        channel = req.reply_channel
        try:
            message = self.engine.click(req, notify=lambda state: self.replies.send(
                channel, {"type": "live.status", "seq": req.seq, "state": state}, wait=False))
        except interrupt.Interrupted:
            raise
        except RequestError as exc:
            code, text = exc.code, exc.message
        except ImageLoadError as exc:  # the client gets no host path; the log has the details
            log.warning("image unreadable: %s", exc)
            code, text = "image_unreadable", "the worker cannot read this image file"
        except interrupt.JobTimeout:
            code, text = "timeout", f"inference exceeded {CLICK_LIMIT_S:g} s"
        except Exception as exc:  # a bug or an engine failure: report it, keep the worker alive
            log.error("click failed: %s", traceback.format_exc())
            code, text = "inference_failed", f"inference failed ({type(exc).__name__}); the worker log has the details"
        else:
            message.update(type="live.mask", timing={"dispatched": req.sent_at or None, "received": received,
                                                     "started": started, "sent": time.time()})
            self.replies.send(channel, message)
            return
        self.replies.send(channel, {"type": "live.error", "seq": req.seq, "code": code, "message": text})

    def run_prepare(self, job: Job) -> None:
        ref, model, mode = job.payload
        try:
            info = {**self.engine.prepare(ref, model, mode), "ok": True}
        except Exception as exc:  # best effort: the click will report the problem
            log.warning("preparing image %s failed: %r", ref.id, exc)
            info = {"image_id": ref.id, "ok": False, "error": type(exc).__name__}   # no host path to clients
        for channel in job.waiters:
            self.replies.send(channel, {"type": "live.warm", "kind": job.kind, **info})

    def dropped(self, job: Job, reason: str) -> None:
        log.debug("%s job of %s dropped: %s", job.kind, job.sid, reason)

    def queued(self, job: Job, position: int) -> None:
        req, _ = job.payload
        self.replies.send(req.reply_channel, {"type": "live.status", "seq": req.seq, "state": "queued",
                                              "position": position}, wait=False)


def build_scheduler(runner: LiveRunner, start: bool = True) -> Scheduler:
    """The process's scheduler wired to `runner`."""
    return Scheduler(runner.run, dropped=runner.dropped, queued=runner.queued, start=start)
