"""Which click worker serves an annotation session: a session -> queue map plus worker heartbeats,
both in Redis (keys in inference/worker/keys.py). A session stays on its worker while that worker's
heartbeat lives (sticky state); once it expired, the session moves to the least loaded live worker,
which rebuilds the state from the full click list."""
from __future__ import annotations

import random
import time

import redis.asyncio as aioredis

from inference.worker import keys
from inference.worker.heartbeat import DEFAULT_TTL_S

PLACEMENT_TTL_S = 3600


class NoWorker(RuntimeError):
    """No click worker has a live heartbeat."""


class Placement:
    """Async session placement on one Redis connection pool."""

    def __init__(self, client: aioredis.Redis, heartbeat_ttl_s: float = DEFAULT_TTL_S) -> None:
        self.redis = client
        self.ttl_s = heartbeat_ttl_s

    async def live_workers(self) -> list[str]:
        """Queues whose heartbeat is younger than the TTL."""
        now = time.time()
        queues = await self.redis.zrangebyscore(keys.WORKERS, now - self.ttl_s, "+inf")
        return [q.decode() if isinstance(q, bytes) else q for q in queues]

    async def is_alive(self, queue: str) -> bool:
        return bool(await self.redis.exists(keys.heartbeat(queue)))

    async def queue_for(self, session: str) -> str:
        """The live queue serving `session`, placing (or re-placing) it when needed; raises NoWorker."""
        current = await self.redis.get(keys.placement(session))
        if current is not None:
            queue = current.decode() if isinstance(current, bytes) else current
            if await self.is_alive(queue):
                await self.redis.expire(keys.placement(session), PLACEMENT_TTL_S)
                return queue
        return await self.reassign(session)

    async def reassign(self, session: str, exclude: str | None = None) -> str:
        """Place `session` on the least loaded live worker (never `exclude`); raises NoWorker."""
        live = [q for q in await self.live_workers() if q != exclude]
        if not live:
            raise NoWorker("no click worker is running")
        loads = await self.redis.hmget(keys.WORKER_LOAD, live)
        weights = [int(v or 0) for v in loads]
        least = min(weights)
        queue = random.choice([q for q, w in zip(live, weights) if w == least])
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(keys.placement(session), queue, ex=PLACEMENT_TTL_S)
        pipe.hincrby(keys.WORKER_LOAD, queue, 1)
        await pipe.execute()
        return queue
