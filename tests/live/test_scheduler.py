"""The click worker's scheduler with real threads: clicks before preparations, prefetch only while no click waits,
latest wins per connection (a queued older click dropped, a running one interrupted), merged preparations,
cancellation of a closed connection's work, stale prefetches dropped, queue positions reported."""
from __future__ import annotations

import threading
import time

import pytest

from inference.worker import interrupt
from inference.worker.scheduler import CLICK, OPEN, PREFETCH, Job, Scheduler


class Recorder:
    """run(): records start/end per job; a job whose payload is an Event waits on it, calling interrupt.check()."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, object]] = []
        self.dropped: list[tuple[object, str]] = []
        self.positions: list[tuple[object, int]] = []
        self.started = threading.Event()
        self.lock = threading.Lock()

    def name(self, job: Job) -> object:
        return job.seq if job.kind == CLICK else job.key

    def run(self, job: Job) -> None:
        with self.lock:
            self.log.append(("start", job.kind, self.name(job)))
        self.started.set()
        gate = job.payload
        while isinstance(gate, threading.Event) and not gate.wait(0.005):
            interrupt.check()
        with self.lock:
            self.log.append(("end", job.kind, self.name(job)))

    def on_dropped(self, job: Job, reason: str) -> None:
        with self.lock:
            self.dropped.append((self.name(job), reason))

    def on_queued(self, job: Job, position: int) -> None:
        self.positions.append((job.seq, position))

    def ends(self) -> list[object]:
        return [name for what, _, name in self.log if what == "end"]


@pytest.fixture
def rec():
    return Recorder()


@pytest.fixture
def make(rec):
    made = []

    def build(**kwargs) -> Scheduler:
        scheduler = Scheduler(rec.run, dropped=rec.on_dropped, queued=rec.on_queued, **kwargs)
        made.append(scheduler)
        return scheduler

    yield build
    for scheduler in made:
        scheduler.close()


def click(sid: str, seq: int, gate=None) -> Job:
    return Job(CLICK, key=sid, sid=sid, seq=seq, payload=gate)


def prepare(kind: str, image: str, sid: str, waiter: str = "", gate=None) -> Job:
    return Job(kind, key=image, sid=sid, payload=gate, waiters=[waiter] if waiter else [])


def test_a_prefetch_waits_while_clicks_run_and_the_open_image_does_not(rec, make):
    gate = threading.Event()
    scheduler = make()
    scheduler.submit(click("a", 1, gate))
    assert rec.started.wait(2)
    scheduler.submit(prepare(PREFETCH, "next", "a"))
    scheduler.submit(prepare(OPEN, "open", "b"))
    time.sleep(0.2)
    assert rec.ends() == ["open"], "the opened image is prepared beside the click; the prefetch waits"
    scheduler.submit(click("b", 1))
    gate.set()
    assert scheduler.wait_idle(5)
    assert rec.ends() == ["open", 1, 1, "next"], "the prefetch runs once no click is running or queued"


def test_latest_wins_per_connection_drops_queued_and_interrupts_running_clicks(rec, make):
    gates = {seq: threading.Event() for seq in (1, 2, 3)}
    scheduler = make()
    scheduler.submit(click("a", 1, gates[1]))
    assert rec.started.wait(2)
    scheduler.submit(click("b", 7))               # another connection: queued behind a's click
    scheduler.submit(click("a", 2, gates[2]))     # a's newer click: interrupts click 1
    scheduler.submit(click("a", 3, gates[3]))     # and drops the queued click 2
    scheduler.submit(click("a", 2))               # an older seq arriving late is stale at once
    gates[3].set()
    assert scheduler.wait_idle(5)
    assert rec.ends() == [7, 3]
    assert sorted(rec.dropped) == [(1, "stale"), (2, "stale"), (2, "stale")]
    assert rec.positions[0] == (7, 1), "b's click reports one job ahead"


def test_a_newer_click_keeps_its_connections_place_in_line(rec, make):
    """Under load a connection that keeps clicking is not sent to the back of the queue each time."""
    gate = threading.Event()
    scheduler = make()
    scheduler.submit(click("x", 1, gate))
    assert rec.started.wait(2)
    for sid in "abc":
        scheduler.submit(click(sid, 1))
    scheduler.submit(click("a", 2))
    assert [key for _, key, _ in scheduler.pending()["engine"]] == ["a", "b", "c"]
    assert rec.positions[-1] == (2, 1), "one job (the running one) ahead of a's newest click"
    gate.set()
    assert scheduler.wait_idle(5)
    assert rec.log[1::2] == [("end", CLICK, 1), ("end", CLICK, 2), ("end", CLICK, 1), ("end", CLICK, 1)]


def test_a_prefetch_of_the_image_being_opened_becomes_its_preparation(rec, make):
    gate = threading.Event()
    scheduler = make(orphan_grace_s=0.1)
    scheduler.submit(click("a", 1, gate))
    assert rec.started.wait(2)
    scheduler.submit(prepare(PREFETCH, "img9", "tab1", waiter="chan1"))
    scheduler.submit(prepare(PREFETCH, "img8", "tab1"))
    time.sleep(0.1)
    assert rec.ends() == [], "prefetches wait while the click runs"
    scheduler.submit(prepare(OPEN, "img9", "tab2", waiter="chan2"))
    deadline = time.monotonic() + 2
    while "img9" not in rec.ends() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rec.ends() == ["img9"], "opened: it runs now, beside the click"
    assert scheduler.pending()["prepare"] == [(PREFETCH, "img8", 0)]
    scheduler.cancel("tab1")                      # tab 1 left: its prefetch waits for its image to be opened...
    gate.set()
    assert scheduler.wait_idle(5)
    assert rec.ends() == ["img9", 1] and ("img8", "cancelled") in rec.dropped, "...which did not happen"
    assert [n for what, _, n in rec.log if what == "start"].count("img9") == 1, "merged: prepared once"


def test_cancel_interrupts_the_closed_connections_click_and_drops_its_queue(rec, make):
    gate = threading.Event()
    scheduler = make(orphan_grace_s=0.1)
    scheduler.submit(click("a", 1, gate))
    assert rec.started.wait(2)
    scheduler.submit(click("b", 1))
    scheduler.submit(prepare(PREFETCH, "n", "a"))
    scheduler.cancel("a")
    assert scheduler.wait_idle(5)
    assert rec.ends() == [1] and set(rec.dropped) == {(1, "cancelled"), ("n", "cancelled")}


def test_a_prefetch_whose_tab_closed_still_runs_when_its_image_is_opened_in_time(rec, make):
    gate = threading.Event()
    scheduler = make(orphan_grace_s=5.0)
    scheduler.submit(click("a", 1, gate))
    assert rec.started.wait(2)
    scheduler.submit(prepare(PREFETCH, "next", "tab1", waiter="chan1"))
    scheduler.cancel("tab1")                      # the annotator leaves the image that asked for the prefetch...
    scheduler.submit(prepare(OPEN, "next", "tab2", waiter="chan2"))   # ...to open the prefetched one
    gate.set()
    assert scheduler.wait_idle(5)
    assert sorted(map(str, rec.ends())) == ["1", "next"] and rec.dropped == []


def test_stale_prefetches_are_dropped_and_deadlines_stop_a_job(rec, make):
    now = [100.0]
    scheduler = make(clock=lambda: now[0], prefetch_max_age_s=10.0, start=False)
    scheduler.submit(prepare(PREFETCH, "old", "a"))
    now[0] = 111.0
    scheduler.submit(prepare(PREFETCH, "new", "a"))
    timeout_seen = []

    def run(job: Job) -> None:
        try:
            rec.run(job)
        except interrupt.JobTimeout:
            timeout_seen.append(job.seq)

    scheduler._run = run
    late = click("c", 4, threading.Event())
    late.deadline = 105.0                          # already past at 111
    scheduler.submit(late)
    scheduler.start()
    assert scheduler.wait_idle(5)
    assert ("old", "stale") in rec.dropped and rec.ends() == ["new"] and timeout_seen == [4]
