"""Per-user bounds of the live socket, shared by every web process through Redis: how many sockets a user may
hold open, and how many prefetches and new objects (engine sessions on a worker) a user may start per minute.
One member can then neither pin every worker with warm-ups nor evict everyone else's sessions."""
from __future__ import annotations

import time
from typing import Callable

import redis.asyncio as aioredis

from inference.worker import keys

MAX_SOCKETS_PER_USER = 8
SOCKET_STALE_S = 90.0          # a socket not seen for this long (its web process died) no longer counts
SOCKET_TOUCH_S = 30.0          # how often a live socket refreshes its entry (clients ping every 20 s)
PREFETCHES_PER_MINUTE = 30
NEW_OBJECTS_PER_MINUTE = 60


class UserLimits:
    """The live bounds of one user (Redis keys in inference/worker/keys.py)."""

    def __init__(self, client: aioredis.Redis, user_id: int, clock: Callable[[], float] = time.time) -> None:
        self.redis, self.user_id, self._clock = client, user_id, clock
        self._touched = 0.0

    async def open_socket(self, sid: str) -> int:
        """Register socket `sid`; returns how many sockets the user holds now, this one included."""
        now = self._clock()
        key = keys.user_sockets(self.user_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now - SOCKET_STALE_S)
        pipe.zadd(key, {sid: now})
        pipe.zcard(key)
        pipe.expire(key, int(SOCKET_STALE_S * 2))
        _, _, count, _ = await pipe.execute()
        self._touched = now
        return int(count)

    async def touch_socket(self, sid: str) -> None:
        """Mark socket `sid` as alive (at most every SOCKET_TOUCH_S)."""
        now = self._clock()
        if now - self._touched < SOCKET_TOUCH_S:
            return
        self._touched = now
        key = keys.user_sockets(self.user_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, {sid: now})
        pipe.expire(key, int(SOCKET_STALE_S * 2))
        await pipe.execute()

    async def close_socket(self, sid: str) -> None:
        await self.redis.zrem(keys.user_sockets(self.user_id), sid)

    async def allow(self, kind: str, per_minute: int) -> bool:
        """Count one `kind` event in the current minute; False once the user exceeded `per_minute`."""
        window = int(self._clock() // 60)
        key = keys.user_rate(self.user_id, kind, window)
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = await pipe.execute()
        return int(count) <= per_minute
