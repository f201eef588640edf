"""Start and stop real live click workers (`python -m inference.worker`) as subprocesses for tests
and the benchmark; each gets its own process group (via `tools.stack`) so SIGKILL takes its pool child
with it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from inference.worker import keys, worker_command
from tools import stack as launcher

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    proc: subprocess.Popen
    queue: str
    log_path: Path

    def kill(self) -> None:
        """SIGKILL the worker and its pool child (no clean shutdown, heartbeat left to expire)."""
        launcher.signal_group(self.proc, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM the worker's group, up to 15 s for a clean shutdown, then SIGKILL of the group."""
        if self.proc.poll() is None:
            launcher.stop_processes([self.proc], grace_s=15.0)

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
    proc = launcher.spawn(worker_command(sys.executable, pool=pool, loglevel="warning"), full_env, log_path,
                          cwd=REPO_ROOT)
    queue = keys.worker_queue(socket.gethostname(), proc.pid)
    worker = WorkerProcess(proc, queue, log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}:\n{worker.log()}")
        if launcher.heartbeat_alive(redis_url, queue):
            return worker
        time.sleep(0.2)
    worker.kill()
    raise RuntimeError(f"worker did not beat within {timeout_s} s:\n{worker.log()}")
