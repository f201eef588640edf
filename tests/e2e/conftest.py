"""The live stack for browser tests: a private redis-server, a migrated SQLite database, daphne
(`manage.py runserver`, which serves the static frontend in DEBUG) and one real Celery click worker
(`python -m inference.worker --pool solo`), all child processes under a temporary directory; plus a
headless Chromium through Playwright's Python package (Debian's /usr/bin/chromium; Playwright never downloads a browser here)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import stack as launcher

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CLICKLABEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic"]
START_TIMEOUT_S = 90


class Stack:
    """Child processes of one live stack (run by `tools.stack`) and what the tests need to know about them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.redis_sock = root / "redis.sock"
        self.port = launcher.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "webapp.settings.base", "DJANGO_DEBUG": "1", "SECRET_KEY": "e2e-secret-key",
            "CLICKLABEL_VAR_DIR": str(root), "MEDIA_ROOT": str(root / "media"),
            "REDIS_URL": f"unix://{self.redis_sock}", "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        })
        self.processes = launcher.Stack(self.env, log_dir=root, cwd=REPO)
        self.seed: dict = {}

    def run(self, argv: list[str]) -> str:
        """Run a one-shot command in the stack's environment; its stdout."""
        done = subprocess.run(argv, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=180)
        if done.returncode:
            raise RuntimeError(f"{argv} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self) -> None:
        redis_url = launcher.start_redis(self.processes, self.redis_sock)
        launcher.manage(["migrate", "--noinput", "-v", "0"], self.env, capture=True, timeout_s=180, cwd=REPO)
        self.seed = json.loads(self.run([sys.executable, str(REPO / "tests" / "e2e" / "seed.py")])
                               .strip().splitlines()[-1])
        self.processes.start("worker", launcher.worker_command(sys.executable, pool="solo", loglevel="warning"))
        # runserver (not daphne): it serves the static frontend in DEBUG
        self.processes.start("web", [sys.executable, "manage.py", "runserver", "--noreload",
                                     f"127.0.0.1:{self.port}"])
        self.processes.wait_until(lambda: launcher.http_ok(f"{self.base_url}/accounts/login/"),
                                  "the web server", START_TIMEOUT_S)
        self.processes.wait_until(lambda: bool(launcher.live_worker_queues(redis_url)),
                                  "the click worker's heartbeat", START_TIMEOUT_S)

    def logs(self) -> str:
        return self.processes.logs()

    def stop(self) -> None:
        self.processes.stop()


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
