"""The load test: `python -m tools.loadtest --target embedded|topology [--users 50] [--duration 300]`.

Starts the target, seeds one account per user (tools/loadtest/seed.py: 640x480 images, teams of 10 per project,
each user a manager of their team's project), runs Locust headless with the annotator users of
tools/loadtest/locustfile.py, samples the resident memory of every worker and web process group meanwhile, stops
the target and writes the figures as JSON (default docs/reliability/load-<target>.json; `python -m
tools.reliability_report` turns them into docs/reliability.md).

Targets:
    embedded   `make run`'s stack (scripts/run_stack.py: SQLite, a private Redis on a unix socket, the Celery
               worker, one live click worker, daphne) in a temporary var dir
    topology   the scaled-out topology of `python -m tools.topology` (PostgreSQL, Redis over TCP, RabbitMQ,
               S3 via moto, two daphne, three click workers, an export worker); users alternate between the two
               web processes
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools import stack as launcher
from tools.loadtest.procs import RssSampler

ROOT = launcher.ROOT
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


@dataclass
class Target:
    """A started stack: web base URLs, the environment to seed it in, process groups to watch, a stop()."""

    name: str
    web_urls: list[str]
    env: dict[str, str]
    groups: dict[str, int]
    description: str
    stop: object = None
    extra: dict = field(default_factory=dict)


def start_embedded(var_dir: Path, say=print) -> Target:
    """scripts/run_stack.py (what `make run` runs) on a free port with its var dir in `var_dir`."""
    port = launcher.free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "MEDIA_ROOT",
                        "DJANGO_SETTINGS_MODULE")}
    env.update(CLICKLABEL_VAR_DIR=str(var_dir), CLICKLABEL_HTTP_PORT=str(port), LOG_LEVEL="WARNING")
    log = open(var_dir / "run_stack.log", "ab")
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run_stack.py")], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                launcher.signal_group(process, signal.SIGKILL)
        log.close()

    deadline = time.monotonic() + 300
    while not launcher.http_ok(url + "/accounts/login/"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop()
            raise RuntimeError(f"make run's stack did not start:\n{(var_dir / 'run_stack.log').read_text()[-3000:]}")
        time.sleep(0.5)
    pids = json.loads((var_dir / "run" / "pids.json").read_text())
    seed_env = {**env, "DJANGO_SETTINGS_MODULE": "webapp.settings.base", "DJANGO_DEBUG": "1",
                "REDIS_URL": f"unix://{var_dir / 'redis.sock'}"}
    say(f"[load] embedded stack up at {url} (processes {pids})")
    return Target("embedded", [url], seed_env, {n: p for n, p in pids.items()},
                  "`make run` (scripts/run_stack.py): SQLite, Redis on a unix socket, the Celery worker, one live "
                  "click worker, one daphne", stop)


def start_scaled(var_dir: Path, say=print) -> Target:
    """tools.topology with its defaults (2 web, 3 click workers, 1 export worker)."""
    from tools.topology import start_topology

    topo = start_topology(name="clicklabel_loadtest", var_dir=var_dir, say=say,
                          extra_env={"LOG_LEVEL": "WARNING"})
    return Target("topology", topo.web_urls, topo.env, {n: p for n, p in topo.pids().items()},
                  "python -m tools.topology: PostgreSQL, Redis over TCP, RabbitMQ (Celery broker), S3 (moto server) "
                  "through django-storages, 2 daphne, 3 click workers, 1 export worker", topo.stop,
                  {"worker_queues": topo.worker_queues})


def run(target_name: str, users: int, duration_s: int, spawn_rate: float, out: Path, images: int, size: str,
        export_every: int, keep: bool = False, say=print) -> dict:
    """Start the target, seed, run Locust, stop; returns (and writes) the figures."""
    var_dir = Path(tempfile.mkdtemp(prefix=f"clicklabel-load-{target_name}-"))
    target = (start_embedded if target_name == "embedded" else start_scaled)(var_dir, say)
    try:
        accounts = var_dir / "accounts.json"
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "tools.loadtest.seed", "--users", str(users), "--images", str(images),
                        "--size", size, "--out", str(accounts)], cwd=ROOT, env=target.env, check=True)
        say(f"[load] seeded {users} accounts in {time.monotonic() - started:.0f} s; Locust: {users} users for "
            f"{duration_s} s")
        watched = {n: p for n, p in target.groups.items() if n not in ("redis", "s3")}
        sampler = RssSampler(watched).start()
        figures_path = var_dir / "locust.json"
        env = {**os.environ, "CLICKLABEL_LOAD_ACCOUNTS": str(accounts), "CLICKLABEL_LOAD_WEB": ",".join(target.web_urls),
               "CLICKLABEL_LOAD_OUT": str(figures_path), "CLICKLABEL_LOAD_EXPORT_EVERY": str(export_every),
               "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--users", str(users),
                "--spawn-rate", str(spawn_rate), "--run-time", f"{duration_s}s", "--stop-timeout", "120",
                "--host", target.web_urls[0], "--only-summary", "--loglevel", "WARNING"]
        t0, load_before = time.monotonic(), os.getloadavg()[1]
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.monotonic() - t0
        memory = sampler.stop()
        load_after = os.getloadavg()[1]
        say(done.stdout[-6000:] + done.stderr[-4000:])
        if not figures_path.exists():
            raise RuntimeError(f"Locust wrote no figures (exit {done.returncode})")
        figures = json.loads(figures_path.read_text())
    finally:
        target.stop()
        if not keep:
            shutil.rmtree(var_dir, ignore_errors=True)
        else:
            say(f"[load] logs kept in {var_dir}")
    figures.update(target=target_name, description=target.description, duration_s=duration_s, wall_s=round(wall, 1),
                   spawn_rate=spawn_rate, images_per_user=images, image_size=size, export_every=export_every,
                   memory_mb=memory, locust_exit=done.returncode,
                   load_average_5min={"before": round(load_before, 2), "after": round(load_after, 2)},
                   machine=f"{platform.machine()}, {os.cpu_count()} CPUs (shared), Python {platform.python_version()}",
                   command=f"python -m tools.loadtest --target {target_name} --users {users} --duration {duration_s}",
                   **target.extra)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def summary(figures: dict) -> str:
    """A few lines for the terminal."""
    c = figures["counts"]
    workers = {n: m["peak_mb"] for n, m in figures["memory_mb"].items()}
    return (f"{figures['target']}: {figures['sessions']} sessions, {c['clicks']} clicks, {c['masks']} masks, "
            f"{c['saves']} saves, {c['drafts']} drafts, {c['exports']} exports; errors {figures['failed_attempts']} "
            f"(broken tasks {figures['broken_tasks']}); click p50 {figures['click_ms']['p50']} ms, p95 "
            f"{figures['click_ms']['p95']} ms; peak RSS MB {workers}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.loadtest", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--target", choices=["embedded", "topology"], required=True)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=300, help="seconds (default 300)")
    parser.add_argument("--spawn-rate", type=float, default=1.0, help="users started per second (default 1)")
    parser.add_argument("--images", type=int, default=2, help="images per user")
    parser.add_argument("--size", default="640x480", help="image WIDTHxHEIGHT")
    parser.add_argument("--export-every", type=int, default=3,
                        help="a user exports after its first object, then every N objects (default 3)")
    parser.add_argument("--out", type=Path, default=None, help="JSON (default docs/reliability/load-<target>.json)")
    parser.add_argument("--keep", action="store_true", help="keep the var dir (logs)")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "docs" / "reliability" / f"load-{args.target}.json"
    figures = run(args.target, args.users, args.duration, args.spawn_rate, out, args.images, args.size,
                  args.export_every, args.keep)
    print(summary(figures))
    print(f"written to {out}")
    return 0 if figures["failed_attempts"] == 0 and figures["broken_tasks"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
