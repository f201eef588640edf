"""Worker heartbeats in Redis: while a worker process lives, its queue name has a fresh heartbeat.

The web side (labeling/live/placement.py) places annotation sessions only on queues whose heartbeat
is younger than the TTL, and moves a session elsewhere once its worker's heartbeat expired.
"""
from __future__ import annotations

import logging
import threading
import time

import redis

from inference.worker import keys

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0
DEFAULT_TTL_S = 3.0


def beat(client: redis.Redis, queue: str, ttl_s: float = DEFAULT_TTL_S) -> None:
    """Record one heartbeat of `queue` now (key with TTL + score in the workers sorted set)."""
    pipe = client.pipeline(transaction=False)
    pipe.set(keys.heartbeat(queue), str(time.time()), px=int(ttl_s * 1000))
    pipe.zadd(keys.WORKERS, {queue: time.time()})
    pipe.execute()


def forget(client: redis.Redis, queue: str) -> None:
    """Remove `queue` from the live workers (clean shutdown)."""
    pipe = client.pipeline(transaction=False)
    pipe.delete(keys.heartbeat(queue))
    pipe.zrem(keys.WORKERS, queue)
    pipe.execute()


class Heartbeat:
    """A daemon thread beating every `interval_s` for `queue` until `stop()`."""

    def __init__(self, client: redis.Redis, queue: str, interval_s: float = DEFAULT_INTERVAL_S,
                 ttl_s: float = DEFAULT_TTL_S) -> None:
        if ttl_s <= interval_s:
            raise ValueError("the heartbeat TTL must exceed the interval")
        self.client, self.queue, self.interval_s, self.ttl_s = client, queue, interval_s, ttl_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{queue}", daemon=True)

    def start(self) -> "Heartbeat":
        beat(self.client, self.queue, self.ttl_s)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                beat(self.client, self.queue, self.ttl_s)
            except redis.RedisError as exc:  # keep beating once Redis is back
                log.warning("heartbeat for %s failed: %s", self.queue, exc)

    def stop(self, forget_queue: bool = True) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s * 2)
        if forget_queue:
            try:
                forget(self.client, self.queue)
            except redis.RedisError:
                pass
