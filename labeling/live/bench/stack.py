"""A private stack for the live benchmark: redis-server on a unix socket, SQLite + media in a temporary
var dir, `python -m inference.worker` and daphne on a free loopback port. Every child runs in its own
process group and is stopped (SIGTERM, then SIGKILL) on exit."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from inference.worker import keys, worker_command

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """Children and endpoints of the running private stack."""

    var_dir: Path
    env: dict[str, str]
    port: int = 0
    children: list[subprocess.Popen] = field(default_factory=list)
    seed: dict = field(default_factory=dict)
    worker_queues: list[str] = field(default_factory=list)

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def spawn(self, argv: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.var_dir / f"{log_name}.log", "ab")
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.children.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.children):
            _killpg(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _killpg(proc, signal.SIGKILL)
        self.children.clear()


def _killpg(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(predicate, what: str, stack: Stack, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc in stack.children:
            if proc.poll() is not None:
                raise RuntimeError(f"a child exited ({proc.args[:3]}) while waiting for {what}; logs in {stack.var_dir}")
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}; logs in {stack.var_dir}")


def start_stack(mode: str, model: str, workers: int = 1, extra_env: dict[str, str] | None = None,
                pool: str = "prefork") -> Stack:
    """Start redis, migrate + seed a fresh SQLite database, the live worker(s) and daphne."""
    var_dir = Path(tempfile.mkdtemp(prefix="clicklabel-bench-"))
    sock = var_dir / "redis.sock"
    env = {**os.environ, "CLICKLABEL_VAR_DIR": str(var_dir), "REDIS_URL": f"unix://{sock}",
           "DJANGO_SETTINGS_MODULE": "webapp.settings.base", "SECRET_KEY": "bench-live-not-secret",
           "DJANGO_DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
           "LOG_LEVEL": "WARNING", **(extra_env or {})}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "MEDIA_ROOT"):
        env.pop(name, None)
    stack = Stack(var_dir, env)
    try:
        stack.spawn(["redis-server", "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                     "--save", "", "--appendonly", "no"], "redis")
        _wait(sock.exists, "redis", stack, 10)
        _manage(env, "migrate", "--noinput")
        out = _manage(env, "bench_live", "--seed-only", "--mode", mode, "--model", model)
        stack.seed = json.loads(out.strip().splitlines()[-1])
        client = redis.Redis.from_url(env["REDIS_URL"])
        for i in range(workers):
            stack.spawn(worker_command(sys.executable, pool=pool, loglevel="warning"), f"worker{i}")
        _wait(lambda: client.zcard(keys.WORKERS) >= workers, "worker heartbeats", stack)
        stack.worker_queues = [q.decode() for q in client.zrange(keys.WORKERS, 0, -1)]
        stack.port = free_port()
        stack.spawn([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(stack.port),
                     "webapp.asgi:application"], "daphne")
        _wait(lambda: _port_open(stack.port), "daphne", stack, 60)
        return stack
    except BaseException:
        stack.stop()
        raise


def _manage(env: dict[str, str], *args: str) -> str:
    """Run a manage.py command in the stack's environment; its stdout, or RuntimeError with its stderr."""
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def remove_var_dir(stack: Stack) -> None:
    shutil.rmtree(stack.var_dir, ignore_errors=True)
