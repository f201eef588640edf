"""The scaled-out topology on one machine, every part its own process: `python -m tools.topology`.

    PostgreSQL   the server on 127.0.0.1:5432 (trust); a database of the topology's own (dropped at the end)
    Redis        a private redis-server over TCP on a free loopback port (channel layer, heartbeats, results)
    RabbitMQ     the Celery broker on 127.0.0.1:5672 (guest); a vhost of its own when `rabbitmqctl` may add one,
                 and in any case queues named after the topology (default queue, export queue)
    S3           moto's server mode on a free port, through django-storages (MEDIA_STORAGE=s3): images and
                 exports live in a bucket; click workers download image bytes through presigned URLs
    web          N daphne processes (default 2), each on its own port (a proxy would balance them)
    workers      M live click workers (default 3, each on its own queue) and one export worker (Celery,
                 export/import queue + the default queue)

Options: --web N, --click-workers M, --worker-threads T (torch threads per click worker; default: the CPUs divided
among the click workers, at least 1, so that they do not oversubscribe the machine), --name NAME (database, vhost, bucket, queues), --port P (first web port;
default free ports), --var DIR (logs; default a temporary folder), --seed-demo (the demo project and users of
`make run`), --debug (DJANGO_DEBUG=1: daphne serves /static/ for a browser rehearsal), --keep (leave the
database, vhost and bucket). Ctrl-C stops every process (tools/stack.py: SIGTERM, then SIGKILL of each group).

This module never imports Django: it runs `manage.py` in the topology's environment.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from inference.worker import worker_command
from tools import stack as launcher

ROOT = launcher.ROOT
POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
RABBIT = ("127.0.0.1", 5672)
S3_KEY_ID, S3_SECRET, S3_REGION = "clicklabel-topology", "clicklabel-topology-secret", "us-east-1"
STARTUP_TIMEOUT_S = 180.0


class TopologyError(RuntimeError):
    """A service the topology needs is missing, or a process failed to start."""


@dataclass
class Topology:
    """A running topology: its environment (what every ClickLabel process got), URLs and processes."""

    name: str
    var_dir: Path
    env: dict[str, str]
    stack: launcher.Stack
    web_urls: list[str] = field(default_factory=list)
    worker_queues: list[str] = field(default_factory=list)
    vhost: str = "/"
    keep: bool = False
    own_var_dir: bool = False
    _vhost_created: bool = False

    def pids(self) -> dict[str, int]:
        """Process-group leader pid of every child, by name."""
        return {c.name: c.process.pid for c in self.stack.children}

    def stop(self) -> None:
        """Stop every process; unless `keep`, drop the database, the vhost and the bucket's server data."""
        self.stack.stop()
        if not self.keep:
            drop_database(self.env["DATABASE_URL"])
            if self._vhost_created:
                rabbitmqctl("delete_vhost", self.vhost)
            if self.own_var_dir:
                shutil.rmtree(self.var_dir, ignore_errors=True)


# ---- the services -----------------------------------------------------------------------------------------

def database_url(name: str, admin_url: str = POSTGRES_ADMIN_URL) -> str:
    """The topology's database URL: `admin_url` with the database name replaced by `name`."""
    return admin_url.rsplit("/", 1)[0] + "/" + name


def create_database(url: str, admin_url: str = POSTGRES_ADMIN_URL) -> None:
    """(Re)create the database named by `url` on the server of `admin_url` (TopologyError if unreachable)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise TopologyError(f"PostgreSQL at {admin_url}: {exc}") from exc


def drop_database(url: str, admin_url: str = POSTGRES_ADMIN_URL) -> None:
    """Drop the database named by `url` (ignored when the server is gone)."""
    import psycopg

    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    except psycopg.Error:
        pass


def rabbitmqctl(*args: str) -> bool:
    """Run `rabbitmqctl ARGS`; False when the tool is missing or refuses (e.g. no access to the Erlang cookie)."""
    if shutil.which("rabbitmqctl") is None:
        return False
    try:
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def tcp_redis_command(port: int) -> list[str]:
    """argv of a private redis-server on 127.0.0.1:`port` over TCP, without persistence."""
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no"]


def s3_server_command(port: int, python: str | None = None) -> list[str]:
    """argv of moto's S3-compatible server on 127.0.0.1:`port` (objects in memory)."""
    return [python or sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def create_bucket(endpoint: str, bucket: str) -> None:
    """Create `bucket` on the S3 endpoint with the topology's credentials."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY_ID,
                          aws_secret_access_key=S3_SECRET, region_name=S3_REGION)
    client.create_bucket(Bucket=bucket)


def export_worker_command(queues: list[str], name: str, python: str | None = None) -> list[str]:
    """argv of the Celery worker for export and import jobs (and any task of the default queue)."""
    argv = launcher.celery_worker_command(python)
    argv[argv.index("--hostname") + 1] = f"{name}-exports@%h"
    return [*argv, "-Q", ",".join(queues)]


# ---- start / stop -------------------------------------------------------------------------------------------

def worker_threads(click_workers: int, cpus: int | None = None) -> int:
    """Torch threads per click worker when `click_workers` share this machine's CPUs (at least 1)."""
    return max(1, (cpus or os.cpu_count() or 1) // max(1, click_workers))


def start_topology(*, name: str = "clicklabel_topology", web: int = 2, click_workers: int = 3,
                   threads: int | None = None, var_dir: Path | None = None, first_port: int = 0, debug: bool = False, keep: bool = False,
                   seed_demo: bool = False, postgres_admin_url: str = POSTGRES_ADMIN_URL,
                   extra_env: dict[str, str] | None = None, say=print) -> Topology:
    """Start every process of the topology and wait until each answers; returns it (call `stop()`)."""
    if not launcher.port_open(5432):
        raise TopologyError("no PostgreSQL on 127.0.0.1:5432")
    if not launcher.port_open(RABBIT[1], RABBIT[0]):
        raise TopologyError("no RabbitMQ on 127.0.0.1:5672")
    if shutil.which("redis-server") is None:
        raise TopologyError("redis-server is not installed")
    own = var_dir is None
    var_dir = Path(var_dir or tempfile.mkdtemp(prefix="clicklabel-topology-")).resolve()
    (var_dir / "logs").mkdir(parents=True, exist_ok=True)
    slug = name.replace("_", "-").lower()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "MEDIA_ROOT")}
    topo = Topology(name, var_dir, env, launcher.Stack(env, log_dir=var_dir / "logs"), keep=keep, own_var_dir=own)
    try:
        say(f"[topology] logs in {var_dir / 'logs'}")
        env["DATABASE_URL"] = database_url(name, postgres_admin_url)
        create_database(env["DATABASE_URL"], postgres_admin_url)
        say(f"[topology] PostgreSQL database: {env['DATABASE_URL']}")

        redis_port = launcher.free_port()
        topo.stack.start("redis", tcp_redis_command(redis_port))
        topo.stack.wait_until(lambda: launcher.port_open(redis_port), "redis", 20)
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        say(f"[topology] Redis over TCP: {env['REDIS_URL']}")

        rabbitmqctl("add_vhost", slug)   # fails when it exists already (or without rights): then try to use it
        if rabbitmqctl("set_permissions", "-p", slug, "guest", ".*", ".*", ".*"):
            topo.vhost, topo._vhost_created = slug, True
        env["CELERY_BROKER_URL"] = f"amqp://guest:guest@{RABBIT[0]}:{RABBIT[1]}/{'' if topo.vhost == '/' else slug}"
        env["CELERY_TASK_DEFAULT_QUEUE"] = f"{slug}.default"
        env["CLICKLABEL_EXPORT_QUEUE"] = f"{slug}.exports"
        say(f"[topology] RabbitMQ broker: vhost {topo.vhost!r}, queues {slug}.default, {slug}.exports, clicks.*")

        s3_port = launcher.free_port()
        topo.stack.start("s3", s3_server_command(s3_port))
        endpoint = f"http://127.0.0.1:{s3_port}"
        topo.stack.wait_until(lambda: launcher.port_open(s3_port), "the S3 server", 60)
        create_bucket(endpoint, slug)
        env.update(MEDIA_STORAGE="s3", AWS_STORAGE_BUCKET_NAME=slug, AWS_S3_ENDPOINT_URL=endpoint,
                   AWS_S3_REGION_NAME=S3_REGION, AWS_ACCESS_KEY_ID=S3_KEY_ID, AWS_SECRET_ACCESS_KEY=S3_SECRET)
        say(f"[topology] S3 (moto server): {endpoint}, bucket {slug}")

        env.update(DJANGO_SETTINGS_MODULE="webapp.settings.base", DJANGO_DEBUG="1" if debug else "0",
                   SECRET_KEY=env.get("SECRET_KEY") or secrets.token_urlsafe(40),
                   ALLOWED_HOSTS="127.0.0.1,localhost", CLICKLABEL_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1",
                   **(extra_env or {}))
        launcher.manage(["migrate", "--noinput"], env, capture=True)
        if seed_demo:
            launcher.manage(["seed_demo"], env, timeout_s=600)

        n_threads = str(threads or worker_threads(click_workers))
        worker_env = {**env, "OMP_NUM_THREADS": n_threads, "MKL_NUM_THREADS": n_threads}
        for i in range(click_workers):
            topo.stack.start(f"click-worker-{i + 1}", worker_command(sys.executable, pool="prefork", loglevel="info"),
                             env=worker_env)
        say(f"[topology] {click_workers} click workers, {n_threads} torch thread(s) each")
        topo.stack.start("export-worker", export_worker_command(
            [env["CLICKLABEL_EXPORT_QUEUE"], env["CELERY_TASK_DEFAULT_QUEUE"]], slug))
        ports = [first_port + i if first_port else launcher.free_port() for i in range(web)]
        for i, port in enumerate(ports):
            topo.stack.start(f"web-{i + 1}", launcher.daphne_command("127.0.0.1", port))
        topo.web_urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url in topo.web_urls:
            topo.stack.wait_until(lambda u=url: launcher.http_ok(u + "/accounts/login/"), url, STARTUP_TIMEOUT_S)
        topo.stack.wait_until(lambda: len(launcher.live_worker_queues(env["REDIS_URL"])) >= click_workers,
                              f"{click_workers} click worker heartbeats", STARTUP_TIMEOUT_S)
        topo.worker_queues = launcher.live_worker_queues(env["REDIS_URL"])
        return topo
    except BaseException:
        topo.stop()
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.topology", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--web", type=int, default=2, help="daphne processes (default 2)")
    parser.add_argument("--click-workers", type=int, default=3, help="live click workers (default 3)")
    parser.add_argument("--worker-threads", type=int, default=None,
                        help="torch threads per click worker (default: CPUs / click workers, at least 1)")
    parser.add_argument("--name", default="clicklabel_topology", help="database, vhost, bucket and queue name")
    parser.add_argument("--port", type=int, default=0, help="first web port (default: free ports)")
    parser.add_argument("--var", type=Path, default=None, help="logs folder (default: a temporary one)")
    parser.add_argument("--seed-demo", action="store_true", help="create the demo project and users")
    parser.add_argument("--debug", action="store_true", help="DJANGO_DEBUG=1 (daphne serves /static/)")
    parser.add_argument("--keep", action="store_true", help="keep the database and vhost after stopping")
    args = parser.parse_args(argv)

    class Stop(Exception):
        pass

    def on_signal(signum: int, _frame: object) -> None:
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    topo = None
    try:
        topo = start_topology(name=args.name, web=args.web, click_workers=args.click_workers,
                              threads=args.worker_threads, var_dir=args.var,
                              first_port=args.port, debug=args.debug, keep=args.keep, seed_demo=args.seed_demo)
        print(f"[topology] up: web {' '.join(u + '/' for u in topo.web_urls)}; click workers "
              f"{', '.join(topo.worker_queues)}; export worker on {topo.env['CLICKLABEL_EXPORT_QUEUE']}", flush=True)
        print("[topology] Ctrl-C stops everything.", flush=True)
        while True:
            dead = topo.stack.dead_child()
            if dead is not None:
                print(f"[topology] {dead.name} exited with status {dead.process.returncode}:\n{dead.log_tail()}",
                      flush=True)
                return 1
            time.sleep(0.5)
    except Stop as stop:
        print(f"\n[topology] {stop}: stopping", flush=True)
        return 0
    except (TopologyError, launcher.StackError, subprocess.CalledProcessError) as exc:
        print(f"[topology] error: {exc}", flush=True)
        return 1
    finally:
        if topo is not None:
            topo.stop()


if __name__ == "__main__":
    sys.exit(main())
