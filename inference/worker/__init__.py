"""The live click workers: Celery tasks, session cache, model holder, channel-layer sender, heartbeats.

Start a worker (the ONE place the command line lives; scripts/run_stack.py uses `worker_command()`):

    python -m inference.worker [--pool prefork|solo] [--loglevel info]

Each worker process consumes its own queue `clicks.<hostname>.<pid>` (sticky sessions), beats a
heartbeat into Redis every second (TTL 3 s) and runs one pool process (prefork, concurrency 1:
model loaded after fork, time limits enforced). Environment: REDIS_URL (or the Celery broker),
DJANGO_SETTINGS_MODULE for the Celery app's configuration, CLICKLABEL_WORKER_MODELS="name=path;...",
CLICKLABEL_WORKER_DEVICE (e.g. cuda:0), CLICKLABEL_CELERY_APP (default "webapp.celery:app").

This package never imports Django; submodules import torch only through the engine, lazily.
"""
from __future__ import annotations

import sys


def worker_command(python: str | None = None, pool: str = "prefork", loglevel: str = "info") -> list[str]:
    """argv that starts one live click worker (run it from the repository root)."""
    return [python or sys.executable, "-m", "inference.worker", "--pool", pool, "--loglevel", loglevel]
