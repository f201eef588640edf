"""A private stack for the live benchmark: redis-server on a unix socket, SQLite + media in a temporary
var dir, `python -m inference.worker` and daphne on a free loopback port. Processes are started and
stopped by `tools.stack` (own process groups; SIGTERM, then SIGKILL of the group)."""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from inference.worker import worker_command
from tools import stack as launcher


@dataclass
class Stack:
    """Children and endpoints of the running private stack."""

    var_dir: Path
    env: dict[str, str]
    port: int = 0
    seed: dict = field(default_factory=dict)
    worker_queues: list[str] = field(default_factory=list)
    processes: launcher.Stack | None = None

    def __post_init__(self) -> None:
        if self.processes is None:
            self.processes = launcher.Stack(self.env, log_dir=self.var_dir)

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.processes.stop()


def start_stack(mode: str, model: str, workers: int = 1, extra_env: dict[str, str] | None = None,
                pool: str = "prefork", fresh: int = 0, users: int = 1) -> Stack:
    """Start redis, migrate + seed a fresh SQLite database (with `fresh` never-opened small images and `users`
    members), the live worker(s) and daphne."""
    var_dir = Path(tempfile.mkdtemp(prefix="clicklabel-bench-"))
    sock = var_dir / "redis.sock"
    env = {**os.environ, "CLICKLABEL_VAR_DIR": str(var_dir), "REDIS_URL": f"unix://{sock}",
           "DJANGO_SETTINGS_MODULE": "webapp.settings.base", "SECRET_KEY": "bench-live-not-secret",
           "DJANGO_DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
           "LOG_LEVEL": "WARNING", **(extra_env or {})}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "MEDIA_ROOT"):
        env.pop(name, None)
    stack = Stack(var_dir, env)
    procs = stack.processes
    try:
        launcher.start_redis(procs, sock)
        launcher.manage(["migrate", "--noinput"], env, capture=True)
        out = launcher.manage(["bench_live", "--seed-only", "--mode", mode, "--model", model, "--fresh", str(fresh),
                               "--users", str(users)],
                              env, capture=True)
        stack.seed = json.loads(out.strip().splitlines()[-1])
        redis_url = env["REDIS_URL"]
        for i in range(workers):
            procs.start(f"worker{i}", worker_command(sys.executable, pool=pool, loglevel="warning"))
        procs.wait_until(lambda: len(launcher.live_worker_queues(redis_url)) >= workers, "worker heartbeats", 180)
        stack.worker_queues = launcher.live_worker_queues(redis_url)
        stack.port = launcher.free_port()
        procs.start("daphne", launcher.daphne_command("127.0.0.1", stack.port))
        procs.wait_until(lambda: launcher.port_open(stack.port), "daphne", 60)
        return stack
    except BaseException:
        stack.stop()
        raise


def remove_var_dir(stack: Stack) -> None:
    """Delete the stack's temporary var dir (database, media, logs)."""
    shutil.rmtree(stack.var_dir, ignore_errors=True)
