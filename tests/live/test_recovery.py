"""A click worker SIGKILLed mid-session: the consumer's watchdog re-routes the click list to a second
real worker, which rebuilds the object from it. Separate module, so that no other worker is alive."""
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


async def test_killed_worker_is_replaced_and_state_rebuilt_from_the_click_list(live_world, workers, live_redis):
    first = workers()
    comm = communicator(live_world["image"].pk, live_world["member_cookie"])
    assert (await comm.connect())[0]
    await receive_until(comm, "ready")
    await comm.send_json_to(click(1, [(48, 32, True)]))
    mask1, _ = await receive_until(comm, "mask", seq=1)
    assert mask1["worker"] == first.queue
    workers()                                        # a second worker to take over
    await comm.send_json_to(click(2, [(48, 32, True), (20, 32, False)]))
    first.kill()                                     # SIGKILL mid-session (the click may be mid-flight)
    mask2, _ = await receive_until(comm, "mask", seq=2, timeout=30)
    assert mask2["worker"] != first.queue, "re-routed to a live worker"
    assert mask2["cache_hit"] is False and mask2["engine_clicks"] == 2, "rebuilt from the full click list"
    session = f"u{live_world['member'].pk}.i{live_world['image'].pk}"
    assert live_redis.get(keys.placement(session)).decode() == mask2["worker"]
    await comm.send_json_to(click(3, [(48, 32, True), (20, 32, False), (25, 20, False)]))
    mask3, _ = await receive_until(comm, "mask", seq=3)
    assert mask3["worker"] == mask2["worker"] and mask3["sync"] == "append", "sticky again"
    await comm.disconnect()
