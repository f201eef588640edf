"""The live annotation websocket `/ws/annotate/{image_id}/` (protocol: docs/live_protocol.md).

connect: 4401 anonymous, 4404 unknown image, 4403 not a member; then `ready` and a warm-up task.
Each message: size, rate and schema checks, membership re-checked, then by type (click / prefetch /
ping). Clicks go latest-wins to the Celery worker that holds the session; workers push `live.*`
messages straight to this consumer's channel. A watchdog re-routes a request whose worker's
heartbeat expired (the new worker rebuilds from the full click list) and gives up after a timeout.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from inference.worker.requests import ClickRequest, ImageRef, PrevMask
from labeling.errors import ClickLabelError
from labeling.live import access, dispatch
from labeling.live.placement import NoWorker, Placement
from labeling.live.protocol import ClickMessage, PingMessage, PrefetchMessage, ProtocolError, decode, parse
from labeling.live.ratelimit import StrikeCounter, TokenBucket
from labeling.live.slot import LatestWinsSlot

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_PROTOCOL = 4401, 4403, 4404, 4400
RATE_PER_S, RATE_BURST = 30.0, 60            # messages per connection
ABUSE_STRIKES, ABUSE_WINDOW_S = 30, 10.0      # refused messages before the socket is closed (4400)
WATCHDOG_PERIOD_S = 0.5
REROUTE_AFTER_S = 1.0                         # check the worker's heartbeat once a request is this old
GIVE_UP_AFTER_S = dispatch.CLICK_EXPIRES_S + 10
MAX_REROUTES = 3
QUIET_S = 0.03                                # a pending click waits until clicks paused this long...
MAX_HOLD_S = 0.15                             # ...but never longer than this
PLACEMENT_RECHECK_S = 1.0                     # how long a looked-up session -> worker placement is reused


def json_dumps(data: dict) -> str:
    """Compact JSON text for a websocket frame."""
    return json.dumps(data, separators=(",", ":"))


class AnnotateConsumer(AsyncWebsocketConsumer):
    """One browser tab annotating one image."""

    ctx: access.ImageContext | None = None
    watchdog: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        image_id = int(self.scope["url_route"]["kwargs"]["image_id"])
        try:
            self.ctx = await database_sync_to_async(access.image_context)(user, image_id)
        except ClickLabelError as exc:
            await self._refuse(CLOSE_NOT_FOUND if exc.status == 404 else CLOSE_FORBIDDEN)
            return
        self.user = user
        self.user_id = user.pk
        self.sid = f"{user.pk}.{image_id}.{uuid.uuid4().hex[:12]}"
        self.session = f"u{user.pk}.i{image_id}"
        self.redis = aioredis.Redis.from_url(settings.REDIS_URL)
        self.placement = Placement(self.redis)
        self.slot: LatestWinsSlot[ClickRequest] = LatestWinsSlot()
        self.bucket = TokenBucket(RATE_PER_S, RATE_BURST)
        self.strikes = StrikeCounter(ABUSE_STRIKES, ABUSE_WINDOW_S)
        self.last_seq = -1
        self.last_click_at = 0.0
        self.queue: str | None = None
        self.queue_checked = 0.0
        await self.accept()
        ctx = self.ctx
        await self._warm(self.session, ctx, ctx.default_model, ctx.default_mode)
        await self.send_json({"type": "ready", "image": {"id": ctx.image_id, "width": ctx.width, "height": ctx.height},
                              "project": {"id": ctx.project_id, "default_model": ctx.default_model,
                                          "default_mode": ctx.default_mode}})

    async def _refuse(self, code: int) -> None:
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.ctx is not None and hasattr(self, "redis"):
            try:
                await self.placement.forget(self.sid)
            finally:
                await self.redis.aclose()

    async def send_json(self, data: dict) -> None:
        await self.send(text_data=json_dumps(data))

    async def send_error(self, code: str, message: str, seq: int | None = None) -> None:
        payload: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if seq is not None:
            payload["seq"] = seq
        await self.send_json(payload)

    # --- client -> server ------------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ctx is None:
            return
        try:
            if not self.bucket.take():
                raise ProtocolError("rate_limited", f"more than {RATE_PER_S:g} messages per second")
            message = parse(decode(text_data, bytes_data), self.ctx.width, self.ctx.height)
        except ProtocolError as exc:
            await self.send_error(exc.code, exc.message, exc.seq)
            if self.strikes.strike():
                await self.close(code=CLOSE_PROTOCOL)
            return
        if not await database_sync_to_async(access.is_member)(self.user, self.ctx.project_id):
            await self.send_error("forbidden", "you are no longer a member of this project")
            await self.close(code=CLOSE_FORBIDDEN)
            return
        handler = self.HANDLERS[type(message)]
        await handler(self, message)

    async def on_ping(self, message: PingMessage) -> None:
        await self.send_json({"type": "pong"})

    async def on_prefetch(self, message: PrefetchMessage) -> None:
        try:
            ctx = await database_sync_to_async(access.image_context)(self.user, message.image_id)
        except ClickLabelError as exc:
            await self.send_error(exc.code, exc.message)
            return
        await self._warm(f"u{self.user_id}.i{ctx.image_id}", ctx, ctx.default_model, ctx.default_mode)

    async def on_click(self, message: ClickMessage) -> None:
        if message.seq <= self.last_seq:
            await self.send_error("stale_seq", f"seq must increase (last {self.last_seq})", message.seq)
            return
        self.last_seq = message.seq
        self.last_click_at = time.monotonic()
        try:
            request = await self._build_request(message)
        except ClickLabelError as exc:
            await self.send_error(exc.code, exc.message, message.seq)
            return
        await self.placement.set_latest(self.sid, message.seq)
        if self.slot.offer(request, message.seq):
            await self._dispatch(request)
        else:
            await self.send_json({"type": "status", "seq": message.seq, "state": "queued"})

    HANDLERS = {ClickMessage: on_click, PrefetchMessage: on_prefetch, PingMessage: on_ping}

    async def _build_request(self, message: ClickMessage) -> ClickRequest:
        ctx = self.ctx
        access.check_model_name(message.model, ctx.project_id)
        prev = None
        if message.prev_annotation_id is not None:
            rle = await database_sync_to_async(access.annotation_rle)(ctx.image_id, message.prev_annotation_id)
            prev = PrevMask(message.prev_annotation_id, rle)
        return ClickRequest(sid=self.sid, session=self.session, reply_channel=self.channel_name, seq=message.seq,
                            object_id=message.object_id, clicks=message.clicks,
                            image=ImageRef.from_payload(ctx.image_ref()),
                            model=message.model or ctx.default_model, mode=message.mode or ctx.default_mode,
                            prev_mask=prev)

    async def _dispatch(self, request: ClickRequest, exclude: str | None = None, attempts: int = 1) -> None:
        try:
            queue = await self._queue(exclude)
        except NoWorker as exc:
            await self.send_error("no_worker", str(exc), request.seq)
            return
        self.slot.start(request, request.seq, queue, attempts)
        payload = request.to_task()
        payload["sent_at"] = time.time()
        dispatch.send_click(payload, queue)
        await self.send_json({"type": "status", "seq": request.seq, "state": "queued"})
        if self.watchdog is None or self.watchdog.done():
            self.watchdog = asyncio.ensure_future(self._watch())

    async def _queue(self, exclude: str | None = None) -> str:
        """The session's worker queue; the Redis lookup is reused for PLACEMENT_RECHECK_S (the watchdog
        catches a worker that dies in between)."""
        now = time.monotonic()
        if exclude is not None:
            self.queue = await self.placement.reassign(self.session, exclude=exclude)
        elif self.queue is None or now - self.queue_checked > PLACEMENT_RECHECK_S:
            self.queue = await self.placement.queue_for(self.session)
        else:
            return self.queue
        self.queue_checked = now
        return self.queue

    async def _warm(self, session: str, ctx: access.ImageContext, model: str, mode: str) -> None:
        try:
            queue = await (self._queue() if session == self.session else self.placement.queue_for(session))
        except NoWorker:
            await self.send_error("no_worker", "no click worker is running")
            return
        dispatch.send_warmup({"reply_channel": self.channel_name, "model": model, "mode": mode,
                              "image": ctx.image_ref()}, queue)

    async def _finished(self, seq: int) -> None:
        """The in-flight request ended: send the pending one, once clicks have paused for QUIET_S
        (a burst then costs one more inference, not one per in-flight result that turns stale)."""
        pending = self.slot.finish(seq)
        if pending is None:
            return
        if time.monotonic() - self.last_click_at >= QUIET_S:
            await self._dispatch(pending)
            return
        self.slot.hold(pending, pending.seq)
        asyncio.ensure_future(self._release_when_quiet(time.monotonic()))

    async def _release_when_quiet(self, since: float) -> None:
        while True:
            now = time.monotonic()
            wait = QUIET_S - (now - self.last_click_at)
            if wait <= 0 or now - since >= MAX_HOLD_S:
                break
            await asyncio.sleep(min(wait, MAX_HOLD_S - (now - since)))
        request = self.slot.release()
        if request is not None:
            await self._dispatch(request)

    async def _watch(self) -> None:
        """Re-route a request whose worker died; give up on one that never answers."""
        while self.slot.inflight is not None:
            await asyncio.sleep(WATCHDOG_PERIOD_S)
            inflight = self.slot.inflight
            if inflight is None:
                return
            age = time.monotonic() - inflight.sent_at
            if age > GIVE_UP_AFTER_S:
                await self.send_error("timeout", "the worker did not answer in time", inflight.seq)
                await self._finished(inflight.seq)
            elif age > REROUTE_AFTER_S and not await self.placement.is_alive(inflight.queue):
                if inflight.attempts >= MAX_REROUTES:
                    await self.send_error("worker_lost", "the click workers keep failing", inflight.seq)
                    await self._finished(inflight.seq)
                    continue
                log.warning("worker %s lost; re-routing session %s", inflight.queue, self.session)
                newest = self.slot.abandon()
                await self._dispatch(newest, exclude=inflight.queue, attempts=inflight.attempts + 1)

    # --- worker -> server (channel layer) --------------------------------------------------------
    async def live_status(self, event: dict) -> None:
        inflight = self.slot.inflight
        if inflight is not None and inflight.seq == event.get("seq"):
            await self.send_json({"type": "status", "seq": event["seq"], "state": event.get("state", "computing")})

    async def live_mask(self, event: dict) -> None:
        seq = event.get("seq")
        if self.slot.inflight is not None and self.slot.inflight.seq == seq:
            message = {k: v for k, v in event.items() if k != "type"}
            message["type"] = "mask"
            await self.send_json(message)
            await self._finished(seq)

    async def live_error(self, event: dict) -> None:
        seq = event.get("seq")
        await self.send_error(str(event.get("code", "inference_failed")), str(event.get("message", "")),
                              seq if isinstance(seq, int) else None)
        if isinstance(seq, int):
            await self._finished(seq)

    async def live_stale(self, event: dict) -> None:
        await self._finished(event.get("seq"))

    async def live_warm(self, event: dict) -> None:
        message = {k: v for k, v in event.items() if k in {"image_id", "ok", "mode", "fallback", "worker",
                                                            "decode_ms", "forward_ms"}}
        await self.send_json({"type": "warm", **message})
