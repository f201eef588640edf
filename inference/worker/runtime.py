"""Per-process worker state, created lazily in the process that uses it (after the pool forked):
the channel sender with its persistent loop, the live engine, the scheduler's threads and the queue name."""
from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass

from inference.worker import keys
from inference.worker.jobs import LiveRunner, Replies, build_scheduler
from inference.worker.scheduler import Scheduler
from inference.worker.sender import ChannelSender, redis_channel_layer_factory
from inference.worker.service import LiveEngine

ENV_QUEUE = "CLICKLABEL_WORKER_QUEUE"


def redis_url() -> str:
    """The Redis URL shared with the web side: $REDIS_URL, else the Celery broker's Redis."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    from celery import current_app

    broker = str(current_app.conf.broker_url or "")
    if broker.startswith("redis+socket://"):
        return "unix://" + broker[len("redis+socket://"):]
    if broker.startswith(("redis://", "rediss://", "unix://")):
        return broker
    raise RuntimeError("set REDIS_URL: the live workers need Redis for heartbeats and the channel layer")


def queue_name() -> str:
    """This worker's click queue ($CLICKLABEL_WORKER_QUEUE, set by the entry point for its children)."""
    return os.environ.get(ENV_QUEUE) or keys.worker_queue(socket.gethostname(), os.getpid())


@dataclass
class Runtime:
    pid: int
    sender: ChannelSender
    engine: LiveEngine
    queue: str
    replies: Replies
    runner: LiveRunner
    scheduler: Scheduler


_runtime: Runtime | None = None
_lock = threading.Lock()


def get() -> Runtime:
    """The runtime of the current process (rebuilt when the pid changed, i.e. after a fork)."""
    global _runtime
    with _lock:
        if _runtime is None or _runtime.pid != os.getpid():
            url = redis_url()
            sender = ChannelSender(redis_channel_layer_factory(url))
            engine, queue = LiveEngine(), queue_name()
            replies = Replies(sender, queue)
            runner = LiveRunner(engine, replies)
            _runtime = Runtime(pid=os.getpid(), sender=sender, engine=engine, queue=queue, replies=replies,
                               runner=runner, scheduler=build_scheduler(runner))
        return _runtime
