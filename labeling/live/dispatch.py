"""Send live tasks to a worker's queue through Celery (task names only; web processes never import
the engine). Click tasks expire, so a request stuck behind a dead worker is never run late."""
from __future__ import annotations

from inference.worker.tasks_names import CANCEL_TASK, CLICK_TASK, WARMUP_TASK
from webapp.celery import app

CLICK_EXPIRES_S = 30
WARMUP_EXPIRES_S = 120
_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2}


def send_click(payload: dict, queue: str) -> None:
    """Queue one click request on `queue` (the worker holding the session)."""
    app.send_task(CLICK_TASK, args=[payload], queue=queue, expires=CLICK_EXPIRES_S,
                  retry=True, retry_policy=_RETRY_POLICY)


def send_warmup(payload: dict, queue: str) -> None:
    """Ask `queue`'s worker to prepare an image (payload "kind": "open" for the opened image, "prefetch" for the
    next one)."""
    app.send_task(WARMUP_TASK, args=[payload], queue=queue, expires=WARMUP_EXPIRES_S,
                  retry=True, retry_policy=_RETRY_POLICY)


def send_cancel(sid: str, queue: str) -> None:
    """Tell `queue`'s worker that connection `sid` closed (its queued and running work is dropped)."""
    app.send_task(CANCEL_TASK, args=[{"sid": sid}], queue=queue, expires=WARMUP_EXPIRES_S,
                  retry=True, retry_policy=_RETRY_POLICY)
