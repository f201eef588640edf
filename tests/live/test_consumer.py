"""The live websocket consumer through the real ASGI stack (origin check, auth, routing) with a real
Redis for placement and the channel layer. Celery dispatch is captured (the worker side has its own
integration test with real worker processes); worker replies are sent through the channel layer."""
from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from inference.worker.heartbeat import beat, forget
from labeling.live import dispatch
from labeling.live.protocol import MAX_MESSAGE_BYTES

from .conftest import communicator

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
WORKER_Q = "clicks.test.1"


@pytest.fixture
def sent(monkeypatch, live_redis):
    """Captures dispatched tasks; one fake worker queue has a live heartbeat."""
    calls = {"click": [], "warmup": [], "cancel": []}
    monkeypatch.setattr(dispatch, "send_click", lambda payload, queue: calls["click"].append((payload, queue)))
    monkeypatch.setattr(dispatch, "send_warmup", lambda payload, queue: calls["warmup"].append((payload, queue)))
    monkeypatch.setattr(dispatch, "send_cancel", lambda sid, queue: calls["cancel"].append((sid, queue)))
    beat(live_redis, WORKER_Q, ttl_s=60)
    return calls


async def open_socket(world, image=None):
    comm = communicator((image or world["image"]).pk, world["member_cookie"])
    connected, _ = await comm.connect()
    assert connected
    ready = await comm.receive_json_from()
    assert ready["type"] == "ready"
    return comm, ready


def click_msg(seq, clicks=((10, 20, True),), **extra):
    return {"type": "click", "seq": seq, "object_id": "obj-1",
            "clicks": [{"x": x, "y": y, "positive": p} for x, y, p in clicks], **extra}


async def expect_close(comm, code):
    out = await comm.receive_output(timeout=2)
    assert out == {"type": "websocket.close", "code": code}
    await comm.disconnect()      # lets the consumer finish (and its channel-layer reader stop)


async def test_anonymous_is_closed_4401(live_world, sent):
    comm = communicator(live_world["image"].pk, cookie=None)
    connected, _ = await comm.connect()
    assert connected
    await expect_close(comm, 4401)


async def test_foreign_or_missing_origin_is_rejected(live_world, sent):
    for origin in [(b"origin", b"http://evil.example.com"), None]:
        comm = communicator(live_world["image"].pk, live_world["member_cookie"], origin=origin)
        connected, _ = await comm.connect()
        assert not connected
        await comm.disconnect()
    assert sent["warmup"] == []


async def test_non_member_4403_and_unknown_image_4404(live_world, sent):
    comm = communicator(live_world["image"].pk, live_world["outsider_cookie"])
    assert (await comm.connect())[0]
    await expect_close(comm, 4403)
    comm = communicator(999999, live_world["member_cookie"])
    assert (await comm.connect())[0]
    await expect_close(comm, 4404)


async def test_ready_describes_image_and_project_and_warms_the_worker(live_world, sent):
    comm, ready = await open_socket(live_world)
    image, project = live_world["image"], live_world["project"]
    assert ready["image"] == {"id": image.pk, "width": 96, "height": 64}
    assert ready["project"] == {"id": project.pk, "default_model": "default", "default_mode": "grabcut"}
    [(payload, queue)] = sent["warmup"]
    assert queue == WORKER_Q and payload["image"]["id"] == image.pk and payload["mode"] == "grabcut"
    assert payload["kind"] == "open" and payload["sid"]
    await comm.disconnect()


@pytest.mark.parametrize("frame, code", [
    ("{not json", "not_json"),
    ("[1, 2]", "bad_schema"),
    (json.dumps({"type": "launch"}), "unknown_type"),
    (json.dumps({"type": "click", "seq": "one", "object_id": "o", "clicks": []}), "bad_schema"),
    (json.dumps(click_msg(1, clicks=[(5, 5, "yes")])), "bad_schema"),
    (json.dumps({**click_msg(1), "extra": 1}), "bad_schema"),
    (json.dumps(click_msg(1, clicks=[(5, 5, True)] * 101)), "too_many_clicks"),
    (json.dumps(click_msg(1, clicks=[(96, 5, True)])), "out_of_bounds"),
    (json.dumps(click_msg(1, clicks=[(5, -1, True)])), "out_of_bounds"),
    (json.dumps(click_msg(1, mode="magic")), "unknown_mode"),
    (json.dumps(click_msg(1, model="../../etc/passwd")), "unknown_model"),
    (json.dumps({"type": "ping", "pad": "x" * (MAX_MESSAGE_BYTES + 1)}), "too_large"),
])
async def test_bad_messages_get_typed_errors_and_keep_the_connection(live_world, sent, frame, code):
    comm, _ = await open_socket(live_world)
    await comm.send_to(text_data=frame)
    error = await comm.receive_json_from()
    assert error["type"] == "error" and error["code"] == code, error
    assert sent["click"] == []
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from() == {"type": "pong"}
    await comm.disconnect()


async def test_click_is_dispatched_to_the_session_worker_with_ids_and_clicks(live_world, sent):
    comm, _ = await open_socket(live_world)
    await comm.send_json_to(click_msg(1, clicks=[(10, 20, True), (30.5, 40, False)], mode="grabcut"))
    assert await comm.receive_json_from() == {"type": "status", "seq": 1, "state": "queued"}
    [(payload, queue)] = sent["click"]
    assert queue == WORKER_Q
    assert payload["clicks"] == [{"x": 10.0, "y": 20.0, "positive": True}, {"x": 30.5, "y": 40.0, "positive": False}]
    assert payload["image"]["width"] == 96 and payload["image"]["path"].endswith(".png")
    assert payload["mode"] == "grabcut" and payload["model"] == "default" and payload["seq"] == 1
    await comm.disconnect()


async def test_every_click_goes_out_at_once_and_only_the_newest_answers_reach_the_client(live_world, sent):
    comm, _ = await open_socket(live_world)
    for seq in (1, 2, 3, 4):
        await comm.send_json_to(click_msg(seq, clicks=[(10, 20, True), (seq, seq, False)], steps=[1]))
        assert await comm.receive_json_from() == {"type": "status", "seq": seq, "state": "queued"}
    assert [p["seq"] for p, _ in sent["click"]] == [1, 2, 3, 4], "the worker's scheduler keeps the newest"
    assert sent["click"][3][0]["steps"] == [1] and sent["click"][3][0]["clicks"][1] == {"x": 4.0, "y": 4.0,
                                                                                         "positive": False}
    layer = get_channel_layer()
    reply_to = sent["click"][0][0]["reply_channel"]
    mask = {"type": "live.mask", "object_id": "obj-1", "model_ms": 5.0, "roi": {"x": 0, "y": 0, "width": 1,
            "height": 1}, "png": "", "mode": "grabcut", "device": "cpu", "worker": WORKER_Q, "steps": [1, 2]}
    await layer.send(reply_to, {**mask, "seq": 1})
    await layer.send(reply_to, {"type": "live.status", "seq": 2, "state": "computing"})
    await layer.send(reply_to, {"type": "live.error", "seq": 3, "code": "timeout", "message": "late"})
    await layer.send(reply_to, {"type": "live.status", "seq": 4, "state": "queued", "position": 2})
    assert await comm.receive_json_from() == {"type": "status", "seq": 4, "state": "queued", "position": 2}, \
        "answers for older clicks are dropped; the newest one's queue position is forwarded"
    await layer.send(reply_to, {**mask, "seq": 4})
    answer = await comm.receive_json_from()
    assert answer["type"] == "mask" and answer["seq"] == 4 and answer["steps"] == [1, 2]
    await layer.send(reply_to, {**mask, "seq": 4})
    assert await comm.receive_nothing(timeout=0.3), "one answer per click"
    await comm.disconnect()
    assert sent["cancel"] == [(sent["click"][0][0]["sid"], WORKER_Q)], "the worker drops a closed tab's work"


async def test_a_user_holds_a_bounded_number_of_sockets(live_world, sent, monkeypatch):
    from labeling.live import limits

    monkeypatch.setattr(limits, "MAX_SOCKETS_PER_USER", 2)
    first, _ = await open_socket(live_world)
    second, _ = await open_socket(live_world)
    third = communicator(live_world["image"].pk, live_world["member_cookie"])
    assert (await third.connect())[0]
    await expect_close(third, 4429)
    await first.disconnect()
    fourth, _ = await open_socket(live_world)          # a closed socket frees its place
    await second.disconnect()
    await fourth.disconnect()


async def test_prefetches_and_new_objects_are_rate_limited_per_user(live_world, sent, monkeypatch):
    from labeling.live import limits

    class OneMinute(limits.UserLimits):          # the counts are per clock minute: the test must not straddle two
        def __init__(self, client, user_id):
            super().__init__(client, user_id, clock=lambda: 60_000_030.0)

    monkeypatch.setattr(limits, "UserLimits", OneMinute)
    monkeypatch.setattr(limits, "PREFETCHES_PER_MINUTE", 2)
    monkeypatch.setattr(limits, "NEW_OBJECTS_PER_MINUTE", 2)
    comm, _ = await open_socket(live_world)
    other = live_world["other_image"].pk
    for _ in range(2):
        await comm.send_json_to({"type": "prefetch", "image_id": other})
    await comm.send_json_to({"type": "prefetch", "image_id": other})
    assert (await comm.receive_json_from())["code"] == "rate_limited"
    assert len(sent["warmup"]) == 3, "the open image and two prefetches"
    for seq, obj in enumerate(["a", "b", "a", "b", "c"], start=1):
        await comm.send_json_to({**click_msg(seq), "object_id": obj})
        reply = await comm.receive_json_from()
        assert reply["type"] == ("error" if obj == "c" else "status"), reply
    assert reply["code"] == "rate_limited" and reply["seq"] == 5
    assert [p["object_id"] for p, _ in sent["click"]] == ["a", "b", "a", "b"], "known objects are not counted again"
    await comm.disconnect()


async def test_worker_error_is_forwarded(live_world, sent):
    comm, _ = await open_socket(live_world)
    await comm.send_json_to(click_msg(1))
    await comm.receive_json_from()
    reply_to = sent["click"][0][0]["reply_channel"]
    await get_channel_layer().send(reply_to, {"type": "live.error", "seq": 1, "code": "image_unreadable",
                                              "message": "gone"})
    assert await comm.receive_json_from() == {"type": "error", "seq": 1, "code": "image_unreadable",
                                              "message": "gone"}
    await comm.send_json_to(click_msg(2))
    assert (await comm.receive_json_from())["seq"] == 2
    assert len(sent["click"]) == 2
    await comm.disconnect()


async def test_seq_must_increase(live_world, sent):
    comm, _ = await open_socket(live_world)
    await comm.send_json_to(click_msg(5))
    await comm.receive_json_from()
    await comm.send_json_to(click_msg(5))
    assert (await comm.receive_json_from())["code"] == "stale_seq"
    await comm.disconnect()


async def test_rate_limit_refuses_floods_and_closes_abusers(live_world, sent, monkeypatch):
    import labeling.consumers

    monkeypatch.setattr(labeling.consumers, "RATE_PER_S", 0.001)   # no refill during the test: exact counts
    comm, _ = await open_socket(live_world)
    for _ in range(100):
        await comm.send_json_to({"type": "ping"})
    replies = []
    while True:
        out = await comm.receive_output(timeout=1)
        if out["type"] == "websocket.close":
            break
        replies.append(json.loads(out["text"]))
        if len(replies) == 100:
            break
    codes = [r.get("code") for r in replies if r["type"] == "error"]
    pongs = [r for r in replies if r["type"] == "pong"]
    assert len(pongs) == 60, "the burst allowance"
    assert codes == ["rate_limited"] * 31
    assert out == {"type": "websocket.close", "code": 4400}, "30+ refused messages in 10 s close the socket"
    await comm.disconnect()


async def test_membership_is_rechecked_on_every_message(live_world, sent):
    from labeling.models import Membership

    comm, _ = await open_socket(live_world)
    await sync_to_async(Membership.objects.filter(user=live_world["member"]).delete)()
    await comm.send_json_to({"type": "ping"})
    assert (await comm.receive_json_from())["code"] == "forbidden"
    await expect_close(comm, 4403)


async def test_a_click_of_a_removed_member_never_gets_its_mask(live_world, sent):
    """The membership query runs while the click is dispatched; the socket closes before any answer."""
    from labeling.models import Membership

    comm, _ = await open_socket(live_world)
    await sync_to_async(Membership.objects.filter(user=live_world["member"]).delete)()
    await comm.send_json_to(click_msg(1))
    replies = []
    while (out := await comm.receive_output(timeout=2))["type"] != "websocket.close":
        replies.append(json.loads(out["text"]))
    assert out["code"] == 4403 and replies[-1]["code"] == "forbidden"
    assert all(r["type"] in {"status", "error"} for r in replies)
    if sent["click"]:                                # dispatched before the query answered: the answer is dropped
        reply_to = sent["click"][0][0]["reply_channel"]
        await get_channel_layer().send(reply_to, {"type": "live.mask", "seq": 1, "object_id": "obj-1", "png": "",
                                                  "roi": {"x": 0, "y": 0, "width": 1, "height": 1}})
        assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_prefetch_warms_the_next_image_and_checks_access(live_world, sent):
    comm, _ = await open_socket(live_world)
    await comm.send_json_to({"type": "prefetch", "image_id": live_world["other_image"].pk})
    await comm.send_json_to({"type": "ping"})          # messages are handled in order: the pong follows the prefetch
    assert await comm.receive_json_from(timeout=5) == {"type": "pong"}
    assert [(p["kind"], p["image"]["id"]) for p, _ in sent["warmup"]] == [
        ("open", live_world["image"].pk), ("prefetch", live_world["other_image"].pk)]
    await comm.send_json_to({"type": "prefetch", "image_id": 987654})
    assert (await comm.receive_json_from())["code"] == "not_found"
    await comm.disconnect()


async def test_no_live_worker_is_a_typed_error(live_world, sent, live_redis):
    forget(live_redis, WORKER_Q)
    comm = communicator(live_world["image"].pk, live_world["member_cookie"])
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from())["code"] == "no_worker"     # the warm-up found nobody
    assert (await comm.receive_json_from())["type"] == "ready"
    await comm.send_json_to(click_msg(1))
    assert await comm.receive_json_from() == {"type": "error", "seq": 1, "code": "no_worker",
                                              "message": "no click worker is running"}
    assert sent["click"] == []
    await comm.disconnect()


async def test_request_on_a_dead_worker_is_rerouted_with_the_full_click_list(live_world, sent, live_redis):
    forget(live_redis, WORKER_Q)
    beat(live_redis, "clicks.dying.1", ttl_s=60)
    comm, _ = await open_socket(live_world)
    await comm.send_json_to(click_msg(1, clicks=[(1, 2, True), (3, 4, False)]))
    await comm.receive_json_from()
    assert sent["click"][0][1] == "clicks.dying.1"
    forget(live_redis, "clicks.dying.1")                     # the worker dies with the click (its heartbeat is gone)
    beat(live_redis, "clicks.alive.2", ttl_s=60)
    status = await comm.receive_json_from(timeout=4)        # the watchdog re-sends once it finds the heartbeat gone
    assert status == {"type": "status", "seq": 1, "state": "queued"}
    (first, _), (second, queue) = sent["click"]
    assert queue == "clicks.alive.2" and second["clicks"] == first["clicks"] and second["seq"] == 1
    from inference.worker import keys
    assert live_redis.get(keys.placement(f"u{live_world['member'].pk}.i{live_world['image'].pk}")) == b"clicks.alive.2"
    await comm.disconnect()


async def test_prev_mask_sends_the_annotation_rle_of_this_image_only(live_world, sent):
    from labeling.models import Annotation, Label

    def make_annotations():
        label = Label.objects.create(project=live_world["project"], name="thing")
        rle = {"size": [64, 96], "counts": "abc"}
        own = Annotation.objects.create(image=live_world["image"], label=label, rle=rle, bbox=[0, 0, 1, 1], area=1)
        other = Annotation.objects.create(image=live_world["other_image"], label=label, rle={"size": [60, 80],
                                          "counts": "x"}, bbox=[0, 0, 1, 1], area=1)
        return own.pk, other.pk

    own, other = await sync_to_async(make_annotations)()
    comm, _ = await open_socket(live_world)
    await comm.send_json_to(click_msg(1, prev_mask={"annotation_id": other}))
    error = await comm.receive_json_from()
    assert (error["code"], error["seq"]) == ("not_found", 1) and sent["click"] == []
    await comm.send_json_to(click_msg(2, prev_mask={"annotation_id": own}))
    await comm.receive_json_from()
    [(payload, _)] = sent["click"]
    assert payload["prev_mask"] == {"annotation_id": own, "rle": {"size": [64, 96], "counts": "abc"}}
    await comm.disconnect()
