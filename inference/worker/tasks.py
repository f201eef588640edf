"""Celery tasks of the live click workers. Each runs on the queue of the worker that holds the session.

Tasks never raise on bad input: errors go to the consumer as `live.error` messages with a code, and
the worker keeps serving. Latest wins: the `latest:{sid}` key is read before and after inference; a
request older than it is dropped and the consumer told (`live.stale`) so it can send its pending one.
Messages to the consumer (channel layer, handled by labeling/consumers.py):
`live.status` {seq, state}, `live.mask` {seq, object_id, roi, png, model_ms, device, mode, worker, ...},
`live.error` {seq, code, message}, `live.stale` {seq}, `live.warm` {image_id, ...}.
"""
from __future__ import annotations

import logging
import time
import traceback

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from inference.worker import keys, runtime
from inference.worker.images import ImageLoadError
from inference.worker.requests import ClickRequest, ImageRef, RequestError
from inference.worker.tasks_names import CLICK_TASK, WARMUP_TASK

log = logging.getLogger(__name__)

CLICK_SOFT_LIMIT_S = 60
CLICK_HARD_LIMIT_S = 90


def _latest(rt: runtime.Runtime, sid: str) -> int:
    value = rt.redis.get(keys.latest(sid))
    return int(value) if value is not None else -1


def _reply(rt: runtime.Runtime, channel: str, message: dict, wait: bool = True) -> None:
    try:
        rt.sender.send(channel, message, wait=wait)
    except Exception as exc:  # the consumer may be gone (closed tab); nothing else to do
        log.info("could not reply on %s: %r", channel, exc)


@shared_task(name=CLICK_TASK, acks_late=True, ignore_result=True,
             soft_time_limit=CLICK_SOFT_LIMIT_S, time_limit=CLICK_HARD_LIMIT_S)
def click(payload: dict) -> str:
    """Answer one click request; returns what happened ("mask", "stale", "error:<code>")."""
    received = time.time()
    rt = runtime.get()
    channel = str(payload.get("reply_channel", ""))
    seq = payload.get("seq")
    try:
        req = ClickRequest.from_task(payload)
        if _latest(rt, req.sid) > req.seq:
            _reply(rt, channel, {"type": "live.stale", "seq": req.seq, "worker": rt.queue})
            return "stale"
        _reply(rt, channel, {"type": "live.status", "seq": req.seq, "state": "computing", "worker": rt.queue},
               wait=False)   # off the critical path; a late status is ignored by the consumer
        message = rt.engine.click(req)
        if _latest(rt, req.sid) > req.seq:
            _reply(rt, channel, {"type": "live.stale", "seq": req.seq, "worker": rt.queue})
            return "stale"
        message.update(type="live.mask", worker=rt.queue,
                       timing={"dispatched": req.sent_at or None, "received": received, "sent": time.time()})
        _reply(rt, channel, message)
        return "mask"
    except RequestError as exc:
        code, text = exc.code, exc.message
    except ImageLoadError as exc:  # the client gets no host path; the log has the details
        log.warning("image unreadable: %s", exc)
        code, text = "image_unreadable", "the worker cannot read this image file"
    except SoftTimeLimitExceeded:
        code, text = "timeout", f"inference exceeded {CLICK_SOFT_LIMIT_S} s"
    except Exception as exc:  # a bug or an engine failure: report it, keep the worker alive
        log.error("click failed: %s", traceback.format_exc())
        code, text = "inference_failed", f"inference failed ({type(exc).__name__}); the worker log has the details"
    if channel:
        _reply(rt, channel, {"type": "live.error", "seq": seq, "code": code, "message": text, "worker": rt.queue})
    return f"error:{code}"


@shared_task(name=WARMUP_TASK, ignore_result=True, soft_time_limit=CLICK_SOFT_LIMIT_S)
def warmup(payload: dict) -> dict:
    """Decode the image and run one forward pass; used when an image opens and to prefetch the next one."""
    rt = runtime.get()
    channel = payload.get("reply_channel")
    try:
        ref = ImageRef.from_payload(payload["image"])
        info = rt.engine.warm(ref, str(payload["model"]), str(payload["mode"]))
        info["ok"] = True
    except Exception as exc:  # warm-up is best effort
        log.warning("warm-up failed: %r", exc)
        info = {"ok": False, "error": type(exc).__name__}
    if channel:
        _reply(rt, channel, {"type": "live.warm", "worker": rt.queue, **info})
    return info

