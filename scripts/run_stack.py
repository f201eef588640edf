#!/usr/bin/env python3
"""`make run`: the whole ClickLabel stack on one machine, stopped cleanly with Ctrl-C.

Starts, in order: a private redis-server on a unix socket under the var dir (unless REDIS_URL is set),
`migrate`, `seed_demo`, the Celery worker(s) of `tools.stack.worker_commands()` and daphne. Prints the URL
and the demo login, then waits. Ctrl-C (SIGINT) or SIGTERM — or any child dying — stops every child: each
runs in its own process group, which gets SIGTERM, then SIGKILL after a grace period (tools/stack.py).

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
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import stack as launcher  # noqa: E402  (needs ROOT on sys.path; imports no Django)

STARTUP_TIMEOUT = 120.0


def base_env(var_dir: Path) -> dict[str, str]:
    """The children's environment: ours plus the var dir, DEBUG on and the base settings by default."""
    env = dict(os.environ)
    env.setdefault("DJANGO_DEBUG", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
    env["CLICKLABEL_VAR_DIR"] = str(var_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_child(stack: launcher.Stack, var_dir: Path, name: str, argv: list[str], log: bool = True) -> None:
    """Start a child (log in <var>/logs/<name>.log, or the terminal) and record every pid in <var>/run/pids.json."""
    stack.start(name, argv, log=log)
    pids = {c.name: c.process.pid for c in stack.children}
    (var_dir / "run" / "pids.json").write_text(json.dumps(pids))


class Stop(Exception):
    """Raised from the signal handler to leave the main loop."""


def main() -> int:
    var_dir = Path(os.environ.get("CLICKLABEL_VAR_DIR", ROOT / "var")).resolve()
    for sub in ("", "logs", "run"):
        (var_dir / sub).mkdir(parents=True, exist_ok=True)
    host = os.environ.get("CLICKLABEL_HTTP_HOST", "127.0.0.1")
    port = int(os.environ.get("CLICKLABEL_HTTP_PORT", "8000")) or launcher.free_port(host)
    env = base_env(var_dir)
    stack = launcher.Stack(env, log_dir=var_dir / "logs")

    def on_signal(signum: int, _frame: object) -> None:
        raise Stop(signal.Signals(signum).name)

    def on_slow_stop(child: launcher.Child) -> None:
        print(f"[run] {child.name} did not stop in {stack.grace_s:.0f} s: killing", flush=True)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    status = 0
    try:
        if not env.get("REDIS_URL"):
            sock = var_dir / "redis.sock"
            sock.unlink(missing_ok=True)
            start_child(stack, var_dir, "redis", launcher.redis_command(sock))
            stack.wait_until(sock.exists, "redis", 10)
            env["REDIS_URL"] = f"unix://{sock}"
        print(f"[run] redis: {env['REDIS_URL']}", flush=True)
        launcher.manage(["migrate", "--noinput"], env)
        launcher.manage(["seed_demo"], env)
        for name, argv in launcher.worker_commands():
            start_child(stack, var_dir, name, argv)
        start_child(stack, var_dir, "web", launcher.daphne_command(host, port), log=False)
        url = f"http://{host}:{port}/"
        stack.wait_until(lambda: launcher.http_ok(url + "admin/login/"), url + "admin/login/", STARTUP_TIMEOUT)
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
    except (launcher.StackError, subprocess.CalledProcessError) as exc:
        print(f"[run] error: {exc}", flush=True)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop(on_timeout=on_slow_stop)
        print("[run] stopped", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
