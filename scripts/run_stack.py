#!/usr/bin/env python3
"""`make run`: the whole ClickLabel stack on one machine, stopped cleanly with Ctrl-C.

Starts, in order: a private redis-server on a unix socket under the var dir (unless REDIS_URL is set),
`migrate`, `seed_demo`, the Celery worker(s) of `worker_commands()` and daphne. Prints the URL and the
demo login, then waits. Ctrl-C (SIGINT) or SIGTERM — or any child dying — stops every child: each runs
in its own process group, which gets SIGTERM, then SIGKILL after a grace period.

Environment (all optional):
    CLICKLABEL_VAR_DIR      data dir: SQLite database, media, redis socket, credentials (default ./var)
    CLICKLABEL_HTTP_HOST    bind address (default 127.0.0.1)
    CLICKLABEL_HTTP_PORT    port (default 8000; 0 picks a free one)
    DJANGO_DEBUG            default 1 for this embedded run
    REDIS_URL, DATABASE_URL, CELERY_BROKER_URL, ...  as in webapp/settings/base.py
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GRACE_SECONDS = 10.0
STARTUP_TIMEOUT = 120.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen


@dataclass
class Stack:
    """The running children, in start order; `stop()` ends them in reverse order."""

    var_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], log_name: str | None = None) -> Child:
        """Start `argv` in its own process group (so Ctrl-C reaches only us), output to the terminal or a log."""
        stdout = None
        if log_name:
            stdout = open(self.var_dir / "logs" / log_name, "ab")
        process = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True, stdout=stdout,
                                   stderr=subprocess.STDOUT if stdout else None)
        child = Child(name, process)
        self.children.append(child)
        self._write_pids()
        return child

    def _write_pids(self) -> None:
        pids = {c.name: c.process.pid for c in self.children}
        (self.var_dir / "run" / "pids.json").write_text(json.dumps(pids))

    def dead_child(self) -> Child | None:
        return next((c for c in self.children if c.process.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM every process group (newest first), wait, then SIGKILL what is left."""
        for child in reversed(self.children):
            _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"[run] {child.name} did not stop in {GRACE_SECONDS:.0f} s: killing", flush=True)
        for child in reversed(self.children):
            _signal_group(child.process, signal.SIGKILL)  # also reaps grandchildren (worker pool processes)
            try:
                child.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.children.clear()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def base_env(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_DEBUG", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
    env["CLICKLABEL_VAR_DIR"] = str(var_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_redis(stack: Stack, env: dict[str, str]) -> str:
    """A private redis-server on `<var>/redis.sock` (no TCP port, no persistence); returns its URL."""
    sock = stack.var_dir / "redis.sock"
    sock.unlink(missing_ok=True)
    stack.start("redis", ["redis-server", "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                          "--save", "", "--appendonly", "no", "--daemonize", "no"], env, log_name="redis.log")
    deadline = time.monotonic() + 10
    while not sock.exists():
        if time.monotonic() > deadline or stack.dead_child():
            raise RuntimeError(f"redis-server did not start (see {stack.var_dir / 'logs' / 'redis.log'})")
        time.sleep(0.05)
    return f"unix://{sock}"


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "-m", "django", *args], cwd=ROOT, env=env, check=True)


def worker_commands() -> list[tuple[str, list[str]]]:
    """The Celery workers to run, as (name, argv). The one place to change the worker command lines."""
    return [("worker", [PYTHON, "-m", "celery", "-A", "webapp", "worker", "--loglevel", "info", "--pool", "solo",
                        "--concurrency", "1", "--hostname", "clicklabel@%h", "--without-gossip", "--without-mingle"]),
            # live click worker: own queue clicks.<host>.<pid> + heartbeats (see inference/worker/__init__.py)
            ("live-worker", [PYTHON, "-m", "inference.worker", "--pool", "prefork", "--loglevel", "info"])]


def web_command(host: str, port: int) -> list[str]:
    return [PYTHON, "-m", "daphne", "-b", host, "-p", str(port), "webapp.asgi:application"]


def wait_http(url: str, stack: Stack, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = stack.dead_child()
        if dead:
            raise RuntimeError(f"{dead.name} exited with status {dead.process.returncode} during start-up")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


class Stop(Exception):
    """Raised from the signal handler to leave the main loop."""


def main() -> int:
    var_dir = Path(os.environ.get("CLICKLABEL_VAR_DIR", ROOT / "var")).resolve()
    for sub in ("", "logs", "run"):
        (var_dir / sub).mkdir(parents=True, exist_ok=True)
    host = os.environ.get("CLICKLABEL_HTTP_HOST", "127.0.0.1")
    port = int(os.environ.get("CLICKLABEL_HTTP_PORT", "8000")) or free_port(host)
    env = base_env(var_dir)
    stack = Stack(var_dir)

    def on_signal(signum: int, _frame: object) -> None:
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    status = 0
    try:
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = start_redis(stack, env)
        print(f"[run] redis: {env['REDIS_URL']}", flush=True)
        manage("migrate", "--noinput", env=env)
        manage("seed_demo", env=env)
        for name, argv in worker_commands():
            stack.start(name, argv, env, log_name=f"{name}.log")
        stack.start("web", web_command(host, port), env)
        url = f"http://{host}:{port}/"
        wait_http(url + "admin/login/", stack)
        print(f"\n[run] ClickLabel is up: {url}  (admin: {url}admin/, API docs: {url}api/docs/)", flush=True)
        print("[run] logins are listed above (seed_demo); worker logs in "
              f"{var_dir / 'logs'}. Ctrl-C stops everything.\n", flush=True)
        while True:
            dead = stack.dead_child()
            if dead:
                print(f"[run] {dead.name} exited with status {dead.process.returncode}; stopping", flush=True)
                status = 1
                break
            time.sleep(0.5)
    except Stop as stop:
        print(f"\n[run] {stop}: stopping", flush=True)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"[run] error: {exc}", flush=True)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("[run] stopped", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
