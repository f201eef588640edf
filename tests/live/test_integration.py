"""Real Redis + real Celery worker processes (not eager): clicks in, masks out; a stale request is
dropped by the worker; a worker SIGKILLed mid-session: see test_recovery.py. Mode grabcut (no weights)."""
from __future__ import annotations

import time

import pytest
from channels.layers import get_channel_layer

from inference.worker import keys  # noqa: F401  (the worker fixture waits on its heartbeat key)
from inference.worker.payload import decode_roi_png
from labeling.live import dispatch

from .conftest import REDIS_URL, communicator
from .workers import start_worker

pytestmark = [pytest.mark.slow, pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def shared_worker(tmp_path_factory):
    """One worker for the tests that do not kill it (a start costs ~10 s on 2 cores)."""
    worker = start_worker(REDIS_URL, tmp_path_factory.mktemp("logs"))
    yield worker
    worker.stop()


@pytest.fixture
def worker(shared_worker, live_redis):
    """The shared worker, once its heartbeat is back after live_redis cleared the keys."""
    deadline = time.monotonic() + 10
    while not live_redis.exists(keys.heartbeat(shared_worker.queue)):
        assert time.monotonic() < deadline, shared_worker.log()
        time.sleep(0.1)
    return shared_worker


async def receive_until(comm, wanted_type, timeout=30.0, seq=None):
    """Skip status/warm messages until one of `wanted_type` (optionally with `seq`) arrives."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        message = await comm.receive_json_from(timeout=max(0.1, deadline - time.monotonic()))
        seen.append(message)
        if message["type"] == wanted_type and (seq is None or message.get("seq") == seq):
            return message, seen
        assert message["type"] in {"status", "warm", "mask"}, message
    raise AssertionError(f"no {wanted_type} within {timeout} s; got {seen}")


def click(seq, clicks, object_id="obj", steps=(), mode="grabcut"):
    return {"type": "click", "seq": seq, "object_id": object_id, "mode": mode, "steps": list(steps),
            "clicks": [{"x": x, "y": y, "positive": p} for x, y, p in clicks]}


async def test_clicks_in_masks_out_through_a_real_worker(live_world, worker):
    comm = communicator(live_world["image"].pk, live_world["member_cookie"])
    assert (await comm.connect())[0]
    await receive_until(comm, "ready")
    await comm.send_json_to(click(1, [(48, 32, True)]))
    mask, seen = await receive_until(comm, "mask", seq=1)
    assert {"type": "status", "seq": 1, "state": "computing", } in [
        {k: m[k] for k in ("type", "seq", "state")} for m in seen if m["type"] == "status"]
    assert mask["worker"] == worker.queue and mask["mode"] == "grabcut" and mask["model_ms"] > 0
    full = decode_roi_png(mask, 64, 96)
    assert full[32, 48] == 255 and full[2, 2] == 0, "the ellipse is in, the corner is out"
    await comm.send_json_to(click(2, [(48, 32, True), (30, 32, False)], steps=mask["steps"]))
    mask2, _ = await receive_until(comm, "mask", seq=2)
    assert mask2["sync"] == "append" and mask2["cache_hit"] is True, "state stayed on the worker"
    assert mask2["steps"] == [1, 2] and set(mask2["timing"]) == {"dispatched", "received", "started", "sent"}
    # bad input reaches the worker: it answers with a typed error and keeps serving
    image = live_world["image"]
    reply = get_channel_layer()
    channel = await reply.new_channel()
    dispatch.send_click({"sid": "x", "session": "y", "reply_channel": channel, "seq": 1, "object_id": "o",
                         "clicks": [{"x": 1, "y": 1, "positive": True}], "model": "default", "mode": "grabcut",
                         "image": {"id": image.pk, "path": "/nonexistent.png", "width": 96, "height": 64}},
                        worker.queue)
    error = await reply.receive(channel)
    while error["type"] == "live.status":
        error = await reply.receive(channel)
    assert error["type"] == "live.error" and error["code"] == "image_unreadable"
    await comm.send_json_to(click(3, [(48, 32, True)]))
    mask3, _ = await receive_until(comm, "mask", seq=3)
    assert mask3["sync"] == "undo"
    await comm.disconnect()


async def test_the_worker_answers_the_newest_click_of_a_connection_and_drops_older_waiting_ones(live_world, worker):
    image = live_world["image"]
    layer = get_channel_layer()
    channel = await layer.new_channel()
    base = {"sid": "sid-burst", "session": "u0.i0", "reply_channel": channel, "object_id": "o", "model": "default",
            "mode": "f-brs-b", "image": {"id": image.pk, "path": image.file.path, "width": 96, "height": 64}}
    clicks = [{"x": 48, "y": 32, "positive": True}]
    for seq in range(1, 7):
        clicks.append({"x": 4 + seq, "y": 4, "positive": False})
        dispatch.send_click({**base, "seq": seq, "clicks": list(clicks)}, worker.queue)
    masks = []
    while not masks or masks[-1] != 6:
        message = await layer.receive(channel)
        assert message["type"] in {"live.status", "live.mask"}, message
        if message["type"] == "live.mask":
            masks.append(message["seq"])
    assert masks == sorted(masks) and len(masks) < 6, f"older clicks waiting behind a newer one are dropped: {masks}"


async def test_an_image_is_prepared_once_and_a_second_open_is_answered_from_the_cache(live_world, worker):
    image = live_world["other_image"]
    layer = get_channel_layer()
    channel = await layer.new_channel()
    payload = {"kind": "open", "sid": "sid-warm", "reply_channel": channel, "model": "default", "mode": "grabcut",
               "image": {"id": image.pk, "path": image.file.path, "width": 80, "height": 60}}
    dispatch.send_warmup(payload, worker.queue)
    first = await layer.receive(channel)
    assert first["type"] == "live.warm" and first["ok"] and first["cached"] is False and first["image_id"] == image.pk
    dispatch.send_warmup({**payload, "kind": "prefetch"}, worker.queue)
    second = await layer.receive(channel)
    assert second["cached"] is True and second["prepare_ms"] == 0


async def test_burst_of_clicks_delivers_only_the_latest_mask(live_world, worker):
    comm = communicator(live_world["image"].pk, live_world["member_cookie"])
    assert (await comm.connect())[0]
    await receive_until(comm, "ready")
    clicks = [(48, 32, True)]
    for seq in range(1, 11):
        clicks.append((5 + seq, 5, False))
        await comm.send_json_to(click(seq, clicks))
    mask, seen = await receive_until(comm, "mask", seq=10)
    masks = [m["seq"] for m in seen if m["type"] == "mask"]
    assert masks[-1] == 10 and len(masks) < 10, f"latest wins: masks for {masks}"
    assert masks == sorted(masks)
    await comm.disconnect()
