"""The live annotation websocket `/ws/annotate/{image_id}/` (protocol: docs/live_protocol.md).

connect: 4401 anonymous, 4404 unknown image, 4403 not a member, 4429 too many sockets of this user; then the
image's preparation is asked of its worker and `ready` sent. Each message: size, rate and schema checks,
membership re-checked, then by type (click / prefetch / ping). Every click goes at once to the Celery worker that
holds the session (its scheduler keeps the newest per connection); workers push `live.*` messages straight to
this consumer's channel, which forwards those of the newest click. A watchdog re-routes the newest request when
its worker's heartbeat expired (the new worker rebuilds from the click list and its steps) and gives up after a
timeout. On close the worker is told to drop this connection's work.
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
from labeling.live import access, dispatch, limits
from labeling.live.outstanding import CHECK, GIVE_UP, Outstanding, watchdog_step
from labeling.live.placement import NoWorker, Placement
from labeling.live.protocol import ClickMessage, PingMessage, PrefetchMessage, ProtocolError, decode, parse
from labeling.live.ratelimit import StrikeCounter, TokenBucket

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_PROTOCOL = 4401, 4403, 4404, 4400
CLOSE_TOO_MANY = 4429                         # the user holds MAX_SOCKETS_PER_USER sockets already
RATE_PER_S, RATE_BURST = 30.0, 60            # messages per connection
ABUSE_STRIKES, ABUSE_WINDOW_S = 30, 10.0      # refused messages before the socket is closed (4400)
WATCHDOG_PERIOD_S = 0.5
REROUTE_AFTER_S = 1.0                         # check the worker's heartbeat once a request is this old
GIVE_UP_AFTER_S = dispatch.CLICK_EXPIRES_S + 10
MAX_REROUTES = 3
PLACEMENT_RECHECK_S = 1.0                     # how long a looked-up session -> worker placement is reused
KNOWN_OBJECTS = 256                           # object ids remembered per connection (new ones are rate-limited)


def json_dumps(data: dict) -> str:
    """Compact JSON text for a websocket frame."""
    return json.dumps(data, separators=(",", ":"))


class AnnotateConsumer(AsyncWebsocketConsumer):
    """One browser tab annotating one image."""

    ctx: access.ImageContext | None = None
    watchdog: asyncio.Task | None = None
    closing = False                                  # closed by the server: no further messages are sent

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
        self.limits = limits.UserLimits(self.redis, user.pk)
        self.newest: Outstanding | None = None
        self.bucket = TokenBucket(RATE_PER_S, RATE_BURST)
        self.strikes = StrikeCounter(ABUSE_STRIKES, ABUSE_WINDOW_S)
        self.objects: dict[str, None] = {}
        self.checks: list[asyncio.Future] = []       # membership queries not yet awaited (see receive)
        self.inflight_check: asyncio.Future | None = None
        self.last_seq = -1
        self.queue: str | None = None
        self.queue_checked = 0.0
        if await self.limits.open_socket(self.sid) > limits.MAX_SOCKETS_PER_USER:
            await self.limits.close_socket(self.sid)
            await self.redis.aclose()
            self.ctx = None
            await self._refuse(CLOSE_TOO_MANY)
            return
        await self.accept()
        ctx = self.ctx
        await self._warm("open", self.session, ctx)
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
                if self.queue is not None:
                    dispatch.send_cancel(self.sid, self.queue)
                await self.limits.close_socket(self.sid)
            except Exception as exc:  # Redis or the broker gone: nothing left to clean up here
                log.info("clean-up of %s failed: %r", self.sid, exc)
            finally:
                await self.redis.aclose()

    async def send_json(self, data: dict) -> None:
        if not self.closing:
            await self.send(text_data=json_dumps(data))

    async def send_error(self, code: str, message: str, seq: int | None = None) -> None:
        payload: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if seq is not None:
            payload["seq"] = seq
        await self.send_json(payload)

    # --- client -> server ------------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ctx is None or self.closing:
            return
        try:
            if not self.bucket.take():
                raise ProtocolError("rate_limited", f"more than {RATE_PER_S:g} messages per second")
            message = parse(decode(text_data, bytes_data), self.ctx.width, self.ctx.height)
        except ProtocolError as exc:
            await self.send_error(exc.code, exc.message, exc.seq)
            if self.strikes.strike():
                self.newest, self.closing = None, True
                await self.close(code=CLOSE_PROTOCOL)
            return
        # Membership is checked for every message. A click is dispatched while its query runs (a burst is not
        # held up by the database); every answer of a worker to this socket waits for the pending queries
        # (`_still_member`), so nothing reaches a socket whose check failed. Other messages wait for their query.
        # A message that arrives while a query is still running shares it (a burst costs one or two queries).
        member = self.inflight_check
        if member is None or member.done():
            member = self.inflight_check = asyncio.ensure_future(
                database_sync_to_async(access.is_member)(self.user, self.ctx.project_id))
            member.add_done_callback(self._on_check)
        if isinstance(message, ClickMessage):
            if member not in self.checks:
                self.checks.append(member)
            await self.on_click(message)
            await self.limits.touch_socket(self.sid)
            return
        if await self._still_member(member):
            await self.HANDLERS[type(message)](self, message)
            await self.limits.touch_socket(self.sid)

    def _on_check(self, check: asyncio.Future) -> None:
        """A membership query failed (or broke): close now rather than at the next answer."""
        if check.cancelled() or check.exception() is not None or not check.result():
            asyncio.ensure_future(self._still_member())

    async def _still_member(self, *more: asyncio.Future) -> bool:
        """Await the pending membership queries (and `more`); on a failed one, say so and close (once)."""
        checks, self.checks = [*self.checks, *more], []
        for check in checks:
            if not await check and not self.closing:
                self.newest, self.closing = None, True    # nothing more reaches this socket
                await self.send(text_data=json_dumps({"type": "error", "code": "forbidden",
                                                      "message": "you are no longer a member of this project"}))
                await self.close(code=CLOSE_FORBIDDEN)
        return not self.closing

    async def on_ping(self, message: PingMessage) -> None:
        await self.send_json({"type": "pong"})

    async def on_prefetch(self, message: PrefetchMessage) -> None:
        if not await self.limits.allow("prefetch", limits.PREFETCHES_PER_MINUTE):
            await self.send_error("rate_limited", f"at most {limits.PREFETCHES_PER_MINUTE} prefetches per minute")
            return
        try:
            ctx = await database_sync_to_async(access.image_context)(self.user, message.image_id)
        except ClickLabelError as exc:
            await self.send_error(exc.code, exc.message)
            return
        await self._warm("prefetch", f"u{self.user_id}.i{ctx.image_id}", ctx)

    async def on_click(self, message: ClickMessage) -> None:
        if message.seq <= self.last_seq:
            await self.send_error("stale_seq", f"seq must increase (last {self.last_seq})", message.seq)
            return
        self.last_seq = message.seq
        if message.object_id not in self.objects:
            if not await self.limits.allow("object", limits.NEW_OBJECTS_PER_MINUTE):
                await self.send_error("rate_limited", f"at most {limits.NEW_OBJECTS_PER_MINUTE} new objects per "
                                                      "minute", message.seq)
                return
            self.objects[message.object_id] = None
            if len(self.objects) > KNOWN_OBJECTS:
                del self.objects[next(iter(self.objects))]
        try:
            request = await self._build_request(message)
        except ClickLabelError as exc:
            await self.send_error(exc.code, exc.message, message.seq)
            return
        await self._dispatch(request)

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
                            prev_mask=prev, steps=message.steps)

    async def _dispatch(self, request: ClickRequest, exclude: str | None = None, attempts: int = 1) -> None:
        try:
            queue = await self._queue(exclude)
        except NoWorker as exc:
            self.newest = None
            await self.send_error("no_worker", str(exc), request.seq)
            return
        if self.closing:
            return
        self.newest = Outstanding(request, request.seq, queue, attempts=attempts)
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

    async def _warm(self, kind: str, session: str, ctx: access.ImageContext) -> None:
        """Ask the worker that serves (or will serve) `session` to prepare `ctx`'s image: `kind` "open" (this
        connection's image) or "prefetch" (the next one)."""
        try:
            queue = await (self._queue() if session == self.session else self.placement.queue_for(session))
        except NoWorker:
            await self.send_error("no_worker", "no click worker is running")
            return
        dispatch.send_warmup({"kind": kind, "reply_channel": self.channel_name, "sid": self.sid,
                              "model": ctx.default_model, "mode": ctx.default_mode, "image": ctx.image_ref()}, queue)

    async def _watch(self) -> None:
        """Re-route the newest request when its worker died; give up on one that never answers."""
        while self.newest is not None:
            await asyncio.sleep(WATCHDOG_PERIOD_S)
            out = self.newest
            if out is None:
                return
            step = watchdog_step(out, time.monotonic(), REROUTE_AFTER_S, GIVE_UP_AFTER_S)
            if step == GIVE_UP:
                self.newest = None
                await self.send_error("timeout", "the worker did not answer in time", out.seq)
            elif step == CHECK and not await self.placement.is_alive(out.queue):
                if out is not self.newest:
                    continue
                if out.attempts >= MAX_REROUTES:
                    self.newest = None
                    await self.send_error("worker_lost", "the click workers keep failing", out.seq)
                    continue
                log.warning("worker %s lost; re-routing session %s", out.queue, self.session)
                await self._dispatch(out.request, exclude=out.queue, attempts=out.attempts + 1)

    # --- worker -> server (channel layer) --------------------------------------------------------
    def _is_newest(self, seq: Any) -> bool:
        return self.newest is not None and self.newest.seq == seq

    async def live_status(self, event: dict) -> None:
        # a status carries no project data: it never waits for a membership query (a burst's statuses must not
        # hold up the clicks behind them)
        if self._is_newest(event.get("seq")) and not self.closing:
            message = {"type": "status", "seq": event["seq"], "state": event.get("state", "computing")}
            if isinstance(event.get("position"), int):
                message["position"] = event["position"]
            await self.send_json(message)

    async def live_mask(self, event: dict) -> None:
        if self._is_newest(event.get("seq")) and await self._still_member():
            self.newest = None
            message = {k: v for k, v in event.items() if k != "type"}
            message["type"] = "mask"
            await self.send_json(message)

    async def live_error(self, event: dict) -> None:
        seq = event.get("seq")
        if self.closing or (isinstance(seq, int) and not self._is_newest(seq)) or not await self._still_member():
            return                                   # an answer nobody waits for any more
        if isinstance(seq, int):
            self.newest = None
        await self.send_error(str(event.get("code", "inference_failed")), str(event.get("message", "")),
                              seq if isinstance(seq, int) else None)

    async def live_warm(self, event: dict) -> None:
        if self.closing or not await self._still_member():
            return
        message = {k: v for k, v in event.items() if k in {"image_id", "ok", "cached", "kind", "mode", "fallback",
                                                            "worker", "decode_ms", "prepare_ms"}}
        await self.send_json({"type": "warm", **message})
