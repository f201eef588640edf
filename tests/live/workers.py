"""Start and stop real live click workers (`python -m inference.worker`) as subprocesses for tests
and the benchmark; each gets its own process group so SIGKILL takes its pool child with it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from inference.worker import keys, worker_command

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    proc: subprocess.Popen
    queue: str
    log_path: Path

    def kill(self) -> None:
        """SIGKILL the worker and its pool child (no clean shutdown, heartbeat left to expire)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_worker(redis_url: str, log_dir: Path, env: dict | None = None, pool: str = "prefork",
                 timeout_s: float = 120.0) -> WorkerProcess:
    """Start one worker and wait until its heartbeat is in Redis."""
    log_dir.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1",
                "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "webapp.settings.test"),
                **(env or {})}
    full_env.pop("CELERY_BROKER_URL", None)
    log_path = log_dir / f"worker-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(worker_command(sys.executable, pool=pool, loglevel="warning"), cwd=REPO_ROOT,
                                env=full_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    import socket

    queue = keys.worker_queue(socket.gethostname(), proc.pid)
    worker = WorkerProcess(proc, queue, log_path)
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode}:\n{worker.log()}")
            if client.exists(keys.heartbeat(queue)):
                return worker
            time.sleep(0.2)
    finally:
        client.close()
    worker.kill()
    raise RuntimeError(f"worker did not beat within {timeout_s} s:\n{worker.log()}")
