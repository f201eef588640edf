"""The click worker's in-process scheduler: clicks first, the open image's preparation next, prefetch last.

Celery tasks only hand jobs to this scheduler and return, so the worker keeps reading its queue while it
computes. Two threads run the jobs:

- the engine thread runs clicks, oldest first across connections, newest only within one connection (latest
  wins: a queued older click of the same connection is replaced in its place in line, so that under load every
  connection is served in turn; a running one is interrupted between two network layers, see
  `inference.worker.interrupt`);
- the prepare thread decodes images and builds their engine-session templates: the open image's first
  (`OPEN`), prefetches (`PREFETCH`) only while no click is running or waiting. A prefetch older than
  `prefetch_max_age_s` is dropped; one asked for by a connection that has closed waits `orphan_grace_s` for the
  image to be opened (the annotator moved on to it) and is dropped otherwise.

A job for an image that is already queued or being prepared is merged into it (a prefetch becomes the open
image's preparation when that image is opened). `cancel(sid)` forgets everything a closed connection asked for.
The scheduler never computes anything itself: `run(job)` does (it may raise `Interrupted` / `JobTimeout` from
`interrupt.check()`), `dropped(job, reason)` is told about jobs that will not run, `queued(job, position)` about a
click that waits behind `position` others.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from inference.worker import interrupt

log = logging.getLogger(__name__)

CLICK, OPEN, PREFETCH = "click", "open", "prefetch"
PREFETCH_MAX_AGE_S = 120.0
ORPHAN_GRACE_S = 5.0


@dataclass(eq=False)
class Job:
    """One unit of work. `key`: the connection for a click (latest wins per connection), the image, model and
    mode for a preparation (merged per key). `sid`: the connection that asked (cancelled with it)."""

    kind: str
    key: Hashable
    sid: str
    seq: int = 0
    payload: Any = None
    waiters: list = field(default_factory=list)   # reply channels told when a preparation finishes
    created: float = 0.0
    deadline: float | None = None
    orphaned: float | None = None                 # when the connection that asked for a prefetch closed

    @property
    def lane(self) -> str:
        return "engine" if self.kind == CLICK else "prepare"


class Scheduler:
    """Priority scheduling of click-worker jobs on an engine thread and a prepare thread (module docstring)."""

    def __init__(self, run: Callable[[Job], None], dropped: Callable[[Job, str], None] | None = None,
                 queued: Callable[[Job, int], None] | None = None, prefetch_max_age_s: float = PREFETCH_MAX_AGE_S,
                 orphan_grace_s: float = ORPHAN_GRACE_S, clock: Callable[[], float] = time.monotonic,
                 start: bool = True) -> None:
        self._run, self._dropped, self._queued = run, dropped, queued
        self.prefetch_max_age_s, self.orphan_grace_s = prefetch_max_age_s, orphan_grace_s
        self._clock = clock
        self._cond = threading.Condition()
        self._clicks: list[Job] = []
        self._prepares: list[Job] = []
        self._running: dict[str, Job | None] = {"engine": None, "prepare": None}
        self._stop_reason: dict[str, str | None] = {"engine": None, "prepare": None}
        self._closed = False
        self._threads: list[threading.Thread] = []
        if start:
            self.start()

    # --- submitting --------------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        """Queue `job` (policies in the module docstring)."""
        if not job.created:
            job.created = self._clock()
        notes: list[tuple[Callable, tuple]] = []
        with self._cond:
            if job.kind == CLICK:
                self._submit_click(job, notes)
            elif job.kind in (OPEN, PREFETCH):
                self._submit_prepare(job, notes)
            else:
                raise ValueError(f"unknown job kind {job.kind!r}")
            self._cond.notify_all()
        for fn, args in notes:
            self._call(fn, *args)

    def _submit_click(self, job: Job, notes: list) -> None:
        index = len(self._clicks)
        for old in [j for j in self._clicks if j.key == job.key]:
            if old.seq >= job.seq:             # a newer click of this connection is already waiting
                notes.append((self._dropped, (job, "stale")))
                return
            index = self._clicks.index(old)    # the newer click keeps the older one's place in line
            self._clicks.remove(old)
            notes.append((self._dropped, (old, "stale")))
        running = self._running["engine"]
        if running is not None and running.key == job.key and running.seq < job.seq:
            self._stop_reason["engine"] = "stale"
        self._clicks.insert(index, job)
        busy = running is not None and self._stop_reason["engine"] is None
        position = int(busy) + index
        if position > 0:
            notes.append((self._queued, (job, position)))

    def _submit_prepare(self, job: Job, notes: list) -> None:
        existing = next((j for j in [*self._prepares, self._running["prepare"]] if j is not None and j.key == job.key),
                        None)
        if existing is None:
            self._prepares.append(job)
            return
        existing.waiters.extend(w for w in job.waiters if w not in existing.waiters)
        if job.kind == OPEN and existing.kind == PREFETCH:   # the prefetched image was opened
            existing.kind, existing.sid, existing.orphaned = OPEN, job.sid, None

    def cancel(self, sid: str) -> None:
        """The connection `sid` closed: drop its queued clicks and preparations (its prefetches after a grace
        period, unless their image gets opened) and interrupt its running click."""
        notes = []
        now = self._clock()
        with self._cond:
            for queue in (self._clicks, self._prepares):
                for job in [j for j in queue if j.sid == sid]:
                    if job.kind == PREFETCH:
                        job.orphaned = now if job.orphaned is None else job.orphaned
                        continue
                    queue.remove(job)
                    notes.append((self._dropped, (job, "cancelled")))
            for lane, job in self._running.items():
                if job is not None and job.sid == sid and (job.kind != OPEN):
                    self._stop_reason[lane] = "cancelled"
        for fn, args in notes:
            self._call(fn, *args)

    # --- introspection -----------------------------------------------------------------------------
    def pending(self) -> dict[str, list[tuple[str, Hashable, int]]]:
        """Queued jobs per lane as (kind, key, seq), in the order they would run (tests, debugging)."""
        with self._cond:
            return {"engine": [(j.kind, j.key, j.seq) for j in self._clicks],
                    "prepare": [(j.kind, j.key, j.seq) for j in sorted(self._prepares, key=self._prepare_rank)]}

    def running(self, lane: str) -> Job | None:
        with self._cond:
            return self._running[lane]

    # --- threads -----------------------------------------------------------------------------------
    def start(self) -> None:
        for lane in ("engine", "prepare"):
            thread = threading.Thread(target=self._loop, args=(lane,), name=f"clicklabel-{lane}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop both threads (a running job is interrupted)."""
        with self._cond:
            self._closed = True
            for lane in self._running:
                self._stop_reason[lane] = "closed"
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout_s)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Block until no job is queued or running (tests)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._clicks or self._prepares or any(self._running.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    @staticmethod
    def _prepare_rank(job: Job) -> tuple[int, float]:
        return (0 if job.kind == OPEN else 1, job.created)

    def _next(self, lane: str) -> tuple[Job | None, list]:
        """The next job of `lane` (under the lock), or None to wait; plus drop notes."""
        notes = []
        if lane == "engine":
            return (self._clicks.pop(0) if self._clicks else None), notes
        now = self._clock()
        for job in [j for j in self._prepares if j.kind == PREFETCH]:
            if now - job.created > self.prefetch_max_age_s:
                self._prepares.remove(job)
                notes.append((self._dropped, (job, "stale")))
            elif job.orphaned is not None and now - job.orphaned > self.orphan_grace_s:
                self._prepares.remove(job)
                notes.append((self._dropped, (job, "cancelled")))
        ready = [j for j in self._prepares if j.orphaned is None]
        if not ready:
            return None, notes
        job = min(ready, key=self._prepare_rank)
        if job.kind == PREFETCH and (self._clicks or self._running["engine"] is not None):
            return None, notes                 # a prefetch waits until no click is running or waiting
        self._prepares.remove(job)
        return job, notes

    def _check(self, lane: str, job: Job) -> None:
        reason = self._stop_reason[lane]
        if reason is not None:
            raise interrupt.Interrupted(reason)
        if job.deadline is not None and self._clock() > job.deadline:
            raise interrupt.JobTimeout(f"{job.kind} ran past its deadline")

    def _loop(self, lane: str) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    job, notes = self._next(lane)
                    if job is not None or notes:
                        self._cond.notify_all()    # dropped jobs: wait_idle may be done
                        break
                    self._cond.wait(0.5)
                if job is not None:
                    self._running[lane] = job
                    self._stop_reason[lane] = None
            for fn, args in notes:
                self._call(fn, *args)
            if job is None:
                continue
            interrupt.set_checker(lambda lane=lane, job=job: self._check(lane, job))
            try:
                self._run(job)
            except interrupt.Interrupted as exc:
                self._call(self._dropped, job, exc.reason)
            except Exception:  # run() reports its own errors; never let the thread die
                log.exception("%s job failed", job.kind)
            finally:
                interrupt.set_checker(None)
                with self._cond:
                    self._running[lane] = None
                    self._stop_reason[lane] = None
                    self._cond.notify_all()

    @staticmethod
    def _call(fn: Callable | None, *args: Any) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:  # a reply that could not be sent must not stop the scheduler
            log.exception("scheduler callback failed")
