"""Locust users, each one annotator (tools/bench_live/annotator.py) on a seeded account of its own.

A user opens one of its images, clicks objects (3-5 clicks, 1-3 s between clicks, a draft autosaved after every
mask), saves each object through the REST API, switches image every few objects and exports its project
(a Celery export job, polled and downloaded) after its first saved object and then every
`CLICKLABEL_LOAD_EXPORT_EVERY` objects. Every websocket and
REST attempt is reported to Locust (request types WS and HTTP); a failed attempt is a Locust failure.

Environment (set by `python -m tools.loadtest`): CLICKLABEL_LOAD_ACCOUNTS (the seed JSON),
CLICKLABEL_LOAD_WEB (comma-separated web base URLs; users are spread over them round-robin),
CLICKLABEL_LOAD_OUT (where the figures go as JSON when the run ends), CLICKLABEL_LOAD_EXPORT_EVERY (default 3).
"""
from __future__ import annotations

import itertools
import json
import os
import random
import time

import requests
from locust import User, between, events, task

from tools.bench_live.annotator import Account, Annotator
from tools.bench_live.stats import percentile

ACCOUNTS = json.loads(open(os.environ["CLICKLABEL_LOAD_ACCOUNTS"]).read())["accounts"]
WEB_URLS = os.environ["CLICKLABEL_LOAD_WEB"].split(",")
EXPORT_EVERY = int(os.environ.get("CLICKLABEL_LOAD_EXPORT_EVERY", "3"))
OBJECTS_PER_IMAGE = 3
_next_id = itertools.count()
ANNOTATORS: list[Annotator] = []
TASK_ERRORS: list[str] = []


class AnnotatorUser(User):
    """One person annotating (see the module docstring)."""

    wait_time = between(1.0, 3.0)   # between two objects

    def on_start(self) -> None:
        index = next(_next_id)
        self.rng = random.Random(index)
        self.annotator = Annotator(Account.from_dict(ACCOUNTS[index % len(ACCOUNTS)]), WEB_URLS[index % len(WEB_URLS)],
                                   requests.Session(), record=self._record, rng=self.rng, think_s=(1.0, 3.0),
                                   retry_for_s=120.0)
        ANNOTATORS.append(self.annotator)
        self.objects = 0          # objects saved
        self.image_index = -1

    def _record(self, kind: str, name: str, ms: float, size: int, error: Exception | None) -> None:
        self.environment.events.request.fire(request_type=kind, name=name, response_time=ms, response_length=size,
                                             exception=error, context={})

    @task
    def annotate(self) -> None:
        annotator = self.annotator
        try:
            images = annotator.account.images
            wanted = (self.objects // OBJECTS_PER_IMAGE) % len(images)
            if annotator.ws is None or wanted != self.image_index:
                annotator.open(images[wanted])
                self.image_index = wanted
            annotator.annotate_object(self.rng.randint(3, 5))
            self.objects += 1
            if (self.objects - 1) % EXPORT_EVERY == 0:   # after the first object, then every EXPORT_EVERY
                annotator.export()
        except Exception as exc:  # noqa: BLE001 - a broken session is an error of the run; the user goes on
            TASK_ERRORS.append(f"{annotator.account.username}: {exc!r}"[:300])
            # as a browser tab: the socket stays open (the client drops it itself when it broke), the next object
            # starts on it; reopening it would queue another warm-up forward

    def on_stop(self) -> None:
        self.annotator.close()


@events.quitting.add_listener
def write_figures(environment, **_kwargs) -> None:
    out = os.environ.get("CLICKLABEL_LOAD_OUT")
    if not out:
        return
    stats = environment.stats
    requests_by_name = {f"{e.method} {e.name}": {"requests": e.num_requests, "failures": e.num_failures,
                                                 "median_ms": e.median_response_time,
                                                 "p95_ms": e.get_response_time_percentile(0.95)}
                        for e in stats.entries.values()}
    clicks = [ms for a in ANNOTATORS for ms in a.click_ms]
    model = [ms for a in ANNOTATORS for ms in a.model_ms]
    counts = {k: sum(a.counts[k] for a in ANNOTATORS) for k in ANNOTATORS[0].counts} if ANNOTATORS else {}
    failures = [f"{f.what}: {f.error}" for a in ANNOTATORS for f in a.failures]
    figures = {"users": len(ANNOTATORS), "web": WEB_URLS, "finished_at": time.time(),
               "sessions": sum(1 for a in ANNOTATORS if a.counts["clicks"]), "counts": counts,
               "click_ms": {"p50": round(percentile(clicks, 50), 1), "p95": round(percentile(clicks, 95), 1),
                            "max": round(max(clicks), 1) if clicks else None, "n": len(clicks)},
               "model_ms": {"p50": round(percentile(model, 50), 1), "p95": round(percentile(model, 95), 1),
                            "sum_s": round(sum(model) / 1e3, 1)},
               "failed_attempts": len(failures),
               "locust_failures": stats.total.num_failures, "broken_tasks": len(TASK_ERRORS),
               "failure_samples": sorted(set(failures))[:10], "task_error_samples": TASK_ERRORS[:10],
               "requests": requests_by_name}
    with open(out, "w") as fh:
        json.dump(figures, fh, indent=2)
