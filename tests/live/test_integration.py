"""Real Redis + real Celery worker processes (not eager): clicks in, masks out; a stale request is
dropped by the worker; a worker SIGKILLed mid-session: see test_recovery.py. Mode grabcut (no weights)."""
from __future__ import annotations

import time

import pytest
from channels.layers import get_channel_layer

from inference.worker import keys
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


def click(seq, clicks, object_id="obj"):
    return {"type": "click", "seq": seq, "object_id": object_id, "mode": "grabcut",
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
    await comm.send_json_to(click(2, [(48, 32, True), (30, 32, False)]))
    mask2, _ = await receive_until(comm, "mask", seq=2)
    assert mask2["sync"] == "append" and mask2["cache_hit"] is True, "state stayed on the worker"
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


async def test_worker_drops_a_request_older_than_the_latest_seq(live_world, worker, live_redis):
    image = live_world["image"]
    layer = get_channel_layer()
    channel = await layer.new_channel()
    live_redis.set(keys.latest("sid-stale"), 7)
    base = {"sid": "sid-stale", "session": "s", "reply_channel": channel, "object_id": "o", "model": "default",
            "mode": "grabcut", "clicks": [{"x": 48, "y": 32, "positive": True}],
            "image": {"id": image.pk, "path": image.file.path, "width": 96, "height": 64}}
    dispatch.send_click({**base, "seq": 6}, worker.queue)
    assert await layer.receive(channel) == {"type": "live.stale", "seq": 6, "worker": worker.queue}
    dispatch.send_click({**base, "seq": 7}, worker.queue)
    replies = [await layer.receive(channel), await layer.receive(channel)]
    assert [r["type"] for r in replies] == ["live.status", "live.mask"] and replies[1]["seq"] == 7


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
