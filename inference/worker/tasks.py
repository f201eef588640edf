"""Celery tasks of the live click workers. Each runs on the queue of the worker that holds the session and only
hands its job to the process's scheduler (`inference.worker.scheduler`), so the worker keeps reading its queue
while the engine computes: a newer click of the same connection interrupts an older one, a click interrupts
nothing else but goes before every preparation, and a closed connection cancels what it asked for.

Tasks never raise on bad input: errors go to the consumer as `live.error` messages with a code (messages:
`inference.worker.jobs`)."""
from __future__ import annotations

import time

from celery import shared_task

from inference.worker import runtime
from inference.worker.requests import ClickRequest, RequestError
from inference.worker.tasks_names import CANCEL_TASK, CLICK_TASK, WARMUP_TASK


@shared_task(name=CLICK_TASK, ignore_result=True)
def click(payload: dict) -> str:
    """Queue one click request on this process's scheduler; returns "queued" or "error:<code>"."""
    received = time.time()
    rt = runtime.get()
    try:
        req = ClickRequest.from_task(payload)
    except RequestError as exc:
        seq = payload.get("seq") if isinstance(payload, dict) else None
        channel = str(payload.get("reply_channel", "")) if isinstance(payload, dict) else ""
        rt.replies.send(channel, {"type": "live.error", "seq": seq if isinstance(seq, int) else None,
                                  "code": exc.code, "message": exc.message})
        return f"error:{exc.code}"
    rt.scheduler.submit(rt.runner.click_job(req, received))
    return "queued"


@shared_task(name=WARMUP_TASK, ignore_result=True)
def warmup(payload: dict) -> str:
    """Prepare an image (decode + engine-session template): `kind` "open" (the image a connection opened) or
    "prefetch" (the image the annotator will open next). An image already prepared is answered at once."""
    rt = runtime.get()
    job = rt.runner.prepare_job(payload if isinstance(payload, dict) else {})
    if job is None:
        return "cached"
    rt.scheduler.submit(job)
    return "queued"


@shared_task(name=CANCEL_TASK, ignore_result=True)
def cancel(payload: dict) -> str:
    """The connection `sid` closed: drop the jobs it asked for and stop its running click."""
    runtime.get().scheduler.cancel(str(payload.get("sid", "")) if isinstance(payload, dict) else "")
    return "cancelled"
