"""A click worker SIGKILLed mid-session: the consumer's watchdog re-routes the click list to a second
real worker, which rebuilds the object from it, pixel for pixel. Separate module, so that no other worker is
alive."""
from __future__ import annotations

import pytest

from inference.worker import keys

from .conftest import REDIS_URL, communicator
from .test_integration import click, receive_until
from .workers import start_worker

pytestmark = [pytest.mark.slow, pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(live_redis, tmp_path):
    started = []

    def start(**kwargs):
        worker = start_worker(REDIS_URL, tmp_path / "logs", **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


async def test_killed_worker_is_replaced_and_the_new_one_shows_the_very_same_mask(live_world, workers, live_redis):
    """On the default network (f-BRS-B): the mask a second worker rebuilds from the click list and its steps is
    byte-identical to the one the first worker showed, and the next click continues from it."""
    first = workers()
    comm = communicator(live_world["image"].pk, live_world["member_cookie"])
    assert (await comm.connect())[0]
    await receive_until(comm, "ready")
    c1, c2, c3 = (48, 32, True), (20, 32, False), (25, 20, False)
    await comm.send_json_to(click(1, [c1], mode="f-brs-b"))
    mask1, _ = await receive_until(comm, "mask", seq=1)
    await comm.send_json_to(click(2, [c1, c2], steps=mask1["steps"], mode="f-brs-b"))
    shown, _ = await receive_until(comm, "mask", seq=2)
    assert shown["worker"] == first.queue and shown["steps"] == [1, 2]
    workers()                                        # a second worker to take over
    first.kill()                                     # SIGKILL: its state is gone
    await comm.send_json_to(click(3, [c1, c2], steps=shown["steps"], mode="f-brs-b"))   # e.g. after a reload
    again, _ = await receive_until(comm, "mask", seq=3, timeout=30)
    assert again["worker"] != first.queue, "re-routed to a live worker"
    assert again["cache_hit"] is False and again["engine_clicks"] == 2, "rebuilt from the click list and steps"
    assert (again["png"], again["roi"]) == (shown["png"], shown["roi"]), "pixel-identical to the mask shown"
    session = f"u{live_world['member'].pk}.i{live_world['image'].pk}"
    assert live_redis.get(keys.placement(session)).decode() == again["worker"]
    await comm.send_json_to(click(4, [c1, c2, c3], steps=again["steps"], mode="f-brs-b"))
    mask4, _ = await receive_until(comm, "mask", seq=4)
    assert mask4["worker"] == again["worker"] and mask4["sync"] == "append", "sticky again, continuing"
    await comm.disconnect()


async def test_a_click_in_flight_on_a_killed_worker_is_rerouted(live_world, workers, live_redis):
    first = workers()
    comm = communicator(live_world["image"].pk, live_world["member_cookie"])
    assert (await comm.connect())[0]
    await receive_until(comm, "ready")
    await comm.send_json_to(click(1, [(48, 32, True)]))
    mask1, _ = await receive_until(comm, "mask", seq=1)
    workers()
    await comm.send_json_to(click(2, [(48, 32, True), (20, 32, False)], steps=mask1["steps"]))
    first.kill()                                     # SIGKILL mid-session (the click may be mid-flight)
    mask2, _ = await receive_until(comm, "mask", seq=2, timeout=30)
    assert mask2["worker"] != first.queue and mask2["steps"] == [1, 2]
    await comm.disconnect()
