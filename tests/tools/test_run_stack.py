"""`make run` (scripts/run_stack.py): starts the whole stack, answers HTTP, and Ctrl-C leaves nothing behind."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tests.tools.process_helpers import process_alive


ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _group_members(pgids: set[int]) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().split(")")[-1].split()
            except OSError:
                continue
            if int(fields[2]) in pgids and fields[0] != "Z":
                members.append(int(entry.name))
    return members


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_run_stack_serves_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND",
                        "DJANGO_SETTINGS_MODULE")}
    env.update(CLICKLABEL_VAR_DIR=str(tmp_path / "var"), CLICKLABEL_HTTP_PORT=str(port))
    log = open(tmp_path / "run.log", "wb")
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run_stack.py")], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, status = time.monotonic() + 240, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=2) as response:
                    status = response.status
                    break
            except OSError:
                time.sleep(0.5)
        assert status == 200, (tmp_path / "run.log").read_text()
        pids = json.loads((tmp_path / "var" / "run" / "pids.json").read_text())
        assert set(pids) >= {"redis", "worker", "training-worker", "web"}
        assert json.loads((tmp_path / "var" / "demo_credentials.json").read_text())["admin"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        time.sleep(0.5)
        assert [name for name, pid in pids.items() if process_alive(pid)] == []
        assert _group_members(set(pids.values())) == []  # no orphaned grandchildren either
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        pid_file = tmp_path / "var" / "run" / "pids.json"
        for pid in (json.loads(pid_file.read_text()).values() if pid_file.exists() else ()):
            try:
                os.killpg(pid, signal.SIGKILL)  # children run in their own process groups
            except ProcessLookupError:
                pass
        log.close()
