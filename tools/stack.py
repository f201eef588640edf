"""Start and stop ClickLabel's processes (redis-server, Celery / live workers, daphne): the one launcher behind
`make run` (scripts/run_stack.py), `manage.py bench_live` (tools/bench_live/stack.py) and the test stacks
(tests/e2e/conftest.py, tests/live/workers.py).

Every child runs in its own process group (`start_new_session`), so Ctrl-C in a terminal reaches only the
launcher, and `stop()` ends a child together with its grandchildren (a prefork worker's pool process):
SIGTERM to every group (newest first), one shared grace period, then SIGKILL to every group.

This module never imports Django (it runs before settings exist).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from inference.worker import keys, worker_command

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 10.0
KILL_WAIT_SECONDS = 5.0
POLL_SECONDS = 0.2


class StackError(RuntimeError):
    """A child died during start-up, a readiness check timed out, or a one-shot command failed."""


@dataclass
class Child:
    """One started process: its name, the Popen handle (pid == process-group id) and its log file (or None)."""

    name: str
    process: subprocess.Popen
    log_path: Path | None = None

    def log_tail(self, chars: int = 3000) -> str:
        """The last `chars` characters of the child's log ("" when it logs to the terminal or has no log yet)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]


def spawn(argv: list[str], env: dict[str, str], log_path: Path | None = None, cwd: Path = ROOT) -> subprocess.Popen:
    """Start `argv` in a new session / process group; stdout+stderr appended to `log_path`, or inherited if None."""
    if not argv:
        raise ValueError("spawn: empty argv")
    if log_path is None:
        return subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True)
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def signal_group(process: subprocess.Popen, sig: int) -> None:
    """Send `sig` to the process group led by `process` (ignored if it is already gone)."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_processes(processes: list[subprocess.Popen], grace_s: float = GRACE_SECONDS,
                   on_timeout: Callable[[subprocess.Popen], None] | None = None) -> None:
    """Stop `processes` in the given order: SIGTERM to each group, wait up to `grace_s` in all (calling
    `on_timeout(p)` for each one still running), then SIGKILL every group (reaping grandchildren) and reap."""
    for process in processes:
        signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            if on_timeout is not None:
                on_timeout(process)
    for process in processes:
        signal_group(process, signal.SIGKILL)
        try:
            process.wait(timeout=KILL_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            pass


@dataclass
class Stack:
    """Children of one running stack, in start order. `env` is the default environment of `start()`;
    `log_dir` (if set) is where `start(..., log=True)` writes `<name>.log`."""

    env: dict[str, str]
    log_dir: Path | None = None
    cwd: Path = ROOT
    grace_s: float = GRACE_SECONDS
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None, log: bool | Path = True) -> Child:
        """Start one child in its own process group. `log`: True → `<log_dir>/<name>.log`, a Path → that file,
        False → inherit the launcher's stdout/stderr."""
        if log is True:
            if self.log_dir is None:
                raise ValueError(f"start({name!r}): log=True needs Stack.log_dir")
            log_path: Path | None = self.log_dir / f"{name}.log"
        else:
            log_path = log or None
        child = Child(name, spawn(argv, env if env is not None else self.env, log_path, self.cwd), log_path)
        self.children.append(child)
        return child

    def dead_child(self) -> Child | None:
        """The first child that has exited, or None."""
        return next((c for c in self.children if c.process.poll() is not None), None)

    def wait_until(self, ready: Callable[[], bool], what: str, timeout_s: float) -> None:
        """Poll `ready()` until true; StackError if any child exits first (with its log tail) or on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            dead = self.dead_child()
            if dead is not None:
                where = f":\n{dead.log_tail()}" if dead.log_path else ""
                raise StackError(f"{dead.name} exited with status {dead.process.returncode} while waiting for "
                                 f"{what}{where}")
            if ready():
                return
            if time.monotonic() > deadline:
                raise StackError(f"timed out after {timeout_s:.0f} s waiting for {what}")
            time.sleep(POLL_SECONDS)

    def logs(self, chars: int = 4000) -> str:
        """The tail of every child's log, for error reports."""
        return "\n".join(f"--- {c.name} ---\n{c.log_tail(chars)}" for c in self.children if c.log_path)

    def stop(self, on_timeout: Callable[[Child], None] | None = None) -> None:
        """Stop every child, newest first (see `stop_processes`); the stack is empty afterwards."""
        by_process = {id(c.process): c for c in self.children}
        callback = None if on_timeout is None else (lambda p: on_timeout(by_process[id(p)]))
        stop_processes([c.process for c in reversed(self.children)], self.grace_s, callback)
        self.children.clear()


# ---- readiness checks -------------------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on `host` a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts TCP connections on (host, port)."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    """True if GET `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def live_worker_queues(redis_url: str) -> list[str]:
    """The queues of the live workers registered in Redis (`keys.WORKERS`); [] if Redis does not answer."""
    client = redis.Redis.from_url(redis_url)
    try:
        return [q.decode() for q in client.zrange(keys.WORKERS, 0, -1)]
    except redis.RedisError:
        return []
    finally:
        client.close()


def heartbeat_alive(redis_url: str, queue: str) -> bool:
    """True if the worker consuming `queue` has a live heartbeat key."""
    client = redis.Redis.from_url(redis_url)
    try:
        return bool(client.exists(keys.heartbeat(queue)))
    except redis.RedisError:
        return False
    finally:
        client.close()


# ---- the processes of a ClickLabel stack ------------------------------------------------------------------

def redis_command(sock: Path) -> list[str]:
    """argv of a private redis-server listening only on the unix socket `sock`, without persistence."""
    return ["redis-server", "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
            "--save", "", "--appendonly", "no", "--daemonize", "no"]


def start_redis(stack: Stack, sock: Path, log: bool | Path = True, timeout_s: float = 10.0) -> str:
    """Start redis-server on `sock` as child "redis", wait for the socket; returns its URL `unix://<sock>`."""
    sock.unlink(missing_ok=True)
    stack.start("redis", redis_command(sock), log=log)
    stack.wait_until(sock.exists, "redis", timeout_s)
    return f"unix://{sock}"


def celery_worker_command(python: str | None = None) -> list[str]:
    """argv of the general Celery worker (imports, exports): solo pool, concurrency 1."""
    return [python or sys.executable, "-m", "celery", "-A", "webapp", "worker", "--loglevel", "info", "--pool",
            "solo", "--concurrency", "1", "--hostname", "clicklabel@%h", "--without-gossip", "--without-mingle"]


def training_worker_command(python: str | None = None, queue: str | None = None) -> list[str]:
    """argv of the training worker: model adaptation jobs only (queue $CLICKLABEL_TRAINING_QUEUE, default
    "training"), one at a time in the worker process, at the lowest CPU priority (nice 19) so that the live
    click workers are served first on a shared machine (docs/adaptation.md). Idle, it only waits on the broker."""
    queue = queue or os.environ.get("CLICKLABEL_TRAINING_QUEUE") or "training"
    return ["nice", "-n", "19", python or sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", queue,
            "--loglevel", "info", "--pool", "solo", "--concurrency", "1", "--prefetch-multiplier", "1",
            "--hostname", "training@%h", "--without-gossip", "--without-mingle"]


def worker_commands(python: str | None = None) -> list[tuple[str, list[str]]]:
    """The workers of a full stack, as (name, argv): the Celery worker, one live click worker (own queue
    clicks.<host>.<pid> + heartbeats, see inference/worker/__init__.py) and the training worker."""
    return [("worker", celery_worker_command(python)),
            ("live-worker", worker_command(python, pool="prefork", loglevel="info")),
            ("training-worker", training_worker_command(python))]


def daphne_command(host: str, port: int, python: str | None = None) -> list[str]:
    """argv of daphne serving `webapp.asgi:application` on (host, port)."""
    return [python or sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "webapp.asgi:application"]


def manage(args: list[str], env: dict[str, str], capture: bool = False, timeout_s: float | None = None,
           cwd: Path = ROOT) -> str:
    """Run `python manage.py <args>`; with `capture`, its stdout (StackError with the output tail on failure),
    else output goes to the terminal (subprocess.CalledProcessError on failure) and "" is returned."""
    argv = [sys.executable, str(cwd / "manage.py"), *args]
    if not capture:
        subprocess.run(argv, cwd=cwd, env=env, check=True, timeout=timeout_s)
        return ""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise StackError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout
