"""The live stack for browser tests: a private redis-server, a migrated SQLite database, daphne
(`manage.py runserver`, which serves the static frontend in DEBUG) and one real Celery click worker
(`python -m inference.worker --pool solo`), all child processes under a temporary directory; plus a
headless Chromium through Playwright's Python package (never `playwright install`)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CLICKLABEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic"]
START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, procs: dict) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, (proc, log) in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} while waiting for {what}:\n"
                                   f"{Path(log).read_text()[-3000:]}")
        if predicate():
            return
        time.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class Stack:
    """Child processes of one live stack and what the tests need to know about them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: dict[str, tuple[subprocess.Popen, Path]] = {}
        self.redis_sock = root / "redis.sock"
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "webapp.settings.base", "DJANGO_DEBUG": "1", "SECRET_KEY": "e2e-secret-key",
            "CLICKLABEL_VAR_DIR": str(root), "MEDIA_ROOT": str(root / "media"),
            "REDIS_URL": f"unix://{self.redis_sock}", "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        })
        self.seed: dict = {}

    def spawn(self, name: str, argv: list[str]) -> None:
        log = self.root / f"{name}.log"
        proc = subprocess.Popen(argv, cwd=REPO, env=self.env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = (proc, log)

    def run(self, argv: list[str]) -> str:
        done = subprocess.run(argv, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=180)
        if done.returncode:
            raise RuntimeError(f"{argv} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self) -> None:
        self.spawn("redis", ["redis-server", "--port", "0", "--unixsocket", str(self.redis_sock),
                             "--unixsocketperm", "700", "--save", "", "--appendonly", "no"])
        _wait(self.redis_sock.exists, 10, "redis", self.procs)
        py = sys.executable
        self.run([py, "manage.py", "migrate", "--noinput", "-v", "0"])
        self.seed = json.loads(self.run([py, str(REPO / "tests" / "e2e" / "seed.py")]).strip().splitlines()[-1])
        from inference.worker import worker_command  # the live engineer's start command

        self.spawn("worker", worker_command(py, pool="solo", loglevel="warning"))
        self.spawn("web", [py, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"])
        _wait(self._web_up, START_TIMEOUT_S, "the web server", self.procs)
        _wait(self._worker_up, START_TIMEOUT_S, "the click worker's heartbeat", self.procs)

    def _web_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/accounts/login/", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def _worker_up(self) -> bool:
        import redis

        from inference.worker import keys

        client = redis.Redis(unix_socket_path=str(self.redis_sock))
        try:
            return client.zcard(keys.WORKERS) > 0
        except redis.RedisError:
            return False
        finally:
            client.close()

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{log.read_text(errors='replace')[-4000:]}"
                         for name, (_, log) in self.procs.items() if log.exists())

    def stop(self) -> None:
        for name in ("web", "worker", "redis"):
            if name not in self.procs:
                continue
            proc, _ = self.procs[name]
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory):
    """A running stack (see module docstring); its seed data is `stack.seed`."""
    for tool in ("redis-server",):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    stack = Stack(tmp_path_factory.mktemp("e2e-stack"))
    try:
        stack.start()
    except Exception:
        logs = stack.logs()
        stack.stop()
        raise RuntimeError(f"the live stack did not start; logs:\n{logs}")
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from /usr/bin/chromium, driven by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    pw = sync_api.sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    """Where screenshots go: $CLICKLABEL_SCREENSHOT_DIR (e.g. docs/screenshots) or a temporary folder."""
    target = Path(os.environ.get("CLICKLABEL_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target
