"""Push messages to a consumer's channel from a worker through ONE persistent event loop per process.

`async_to_sync(layer.send)` builds a new loop and a new Redis connection per call (~3.3 ms, and
"Event loop is closed" errors); a long-lived loop thread costs ~0.4 ms per send (INFRA.md). The
loop and the channel layer are created lazily in the process that first sends, i.e. after the
Celery pool has forked; a sender created in another process (pid changed) is rebuilt. Messages are sent in the
order `send` was called, also those not waited for (a `computing` status never overtakes its mask).
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)

LayerFactory = Callable[[], Any]


def redis_channel_layer_factory(redis_url: str, capacity: int = 200, expiry: int = 30) -> LayerFactory:
    """A factory for channels_redis' RedisChannelLayer on `redis_url` (same settings as the web side)."""

    def build() -> Any:
        from channels_redis.core import RedisChannelLayer  # imported lazily: only worker processes need it

        # socket_timeout: see CHANNEL_LAYERS in webapp/settings/base.py (redis-py 8 defaults to 5 s)
        return RedisChannelLayer(hosts=[{"address": redis_url, "socket_timeout": 30}], capacity=capacity,
                                 expiry=expiry)

    return build


def _log_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.info("channel send failed: %r", future.exception())


class ChannelSender:
    """Sends dicts to channel names on a daemon event-loop thread owned by this process."""

    def __init__(self, layer_factory: LayerFactory, timeout_s: float = 5.0) -> None:
        self._factory = layer_factory
        self._timeout = timeout_s
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._layer: Any = None
        self._order: asyncio.Lock | None = None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid() or not self._loop.is_running():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=run, name="channel-sender", daemon=True)
                thread.start()
                ready.wait(5)
                self._loop, self._pid, self._layer, self._order = loop, os.getpid(), None, None
            return self._loop

    async def _send(self, channel: str, message: dict) -> None:
        if self._order is None:
            self._order = asyncio.Lock()   # FIFO: coroutines acquire it in the order they were scheduled
        async with self._order:
            if self._layer is None:
                self._layer = self._factory()
            await self._layer.send(channel, message)

    def send(self, channel: str, message: dict, wait: bool = True) -> None:
        """Send `message` (must carry "type") to `channel`; blocks until Redis accepted it, unless
        `wait` is False (fire and forget, for status updates off the critical path; failures are logged)."""
        if "type" not in message:
            raise ValueError("channel messages need a 'type'")
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(self._send(channel, message), loop)
        if wait:
            future.result(self._timeout)
        else:
            future.add_done_callback(_log_failure)

    def close(self) -> None:
        """Stop the loop thread (the process is shutting down)."""
        with self._lock:
            if self._loop is not None and self._loop.is_running():
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = None
