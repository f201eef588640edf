"""tools/stack.py: process groups, readiness waits, clean stop (SIGTERM, then SIGKILL of the group)."""
from __future__ import annotations

import http.server
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import pytest


from inference.worker import worker_command
from tools import stack as launcher
from tests.tools.process_helpers import process_alive

PY = sys.executable


def _wait_for_file(path: Path, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


def test_child_runs_in_its_own_process_group_and_logs_to_its_file(tmp_path):
    stack = launcher.Stack(dict(os.environ), log_dir=tmp_path)
    child = stack.start("echo", [PY, "-c", "import os; print('hello', os.getpgid(0))"])
    assert child.process.wait(timeout=20) == 0
    assert child.log_path == tmp_path / "echo.log"
    assert child.log_tail().split() == ["hello", str(child.process.pid)]
    assert os.getpgid(0) != child.process.pid
    stack.stop()
    assert stack.children == []


def test_stop_terminates_newest_first_and_kills_the_whole_group_of_a_stubborn_child(tmp_path):
    # a child that ignores SIGTERM and has a grandchild in its group; the grandchild writes its pid
    grandchild_pid_file = tmp_path / "grandchild.pid"
    stubborn = ("import signal, subprocess, sys, time\n"
                "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
                f"open({str(grandchild_pid_file)!r}, 'w').write(str(p.pid))\n"
                "time.sleep(300)\n")
    stack = launcher.Stack(dict(os.environ), log_dir=tmp_path, grace_s=0.5)
    polite = stack.start("polite", [PY, "-c", "import time; time.sleep(300)"])
    rude = stack.start("rude", [PY, "-c", stubborn])
    grandchild = int(_wait_for_file(grandchild_pid_file))
    slow: list[str] = []
    stack.stop(on_timeout=lambda child: slow.append(child.name))
    assert slow == ["rude"]
    assert polite.process.returncode == -signal.SIGTERM
    assert rude.process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while process_alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(grandchild)


def test_wait_until_reports_a_dead_child_with_its_log_tail(tmp_path):
    stack = launcher.Stack(dict(os.environ), log_dir=tmp_path)
    stack.start("crasher", [PY, "-c", "import sys; print('boom-marker'); sys.exit(3)"])
    try:
        with pytest.raises(launcher.StackError, match=r"crasher exited with status 3 while waiting for nothing"
                                                       r"(.|\n)*boom-marker"):
            stack.wait_until(lambda: False, "nothing", timeout_s=30)
    finally:
        stack.stop()


def test_wait_until_times_out_and_returns_once_ready(tmp_path):
    stack = launcher.Stack(dict(os.environ), log_dir=tmp_path)
    stack.start("sleeper", [PY, "-c", "import time; time.sleep(300)"])
    try:
        with pytest.raises(launcher.StackError, match="timed out after 0 s waiting for never"):
            stack.wait_until(lambda: False, "never", timeout_s=0.3)
        calls = iter([False, False, True])
        stack.wait_until(lambda: next(calls), "third poll", timeout_s=10)
    finally:
        stack.stop()


def test_bad_start_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="log_dir"):
        launcher.Stack(dict(os.environ)).start("x", [PY, "-c", "pass"])
    with pytest.raises(ValueError, match="empty argv"):
        launcher.spawn([], dict(os.environ))


def test_port_and_http_checks_follow_a_real_server():
    port = launcher.free_port()
    assert not launcher.port_open(port)
    assert not launcher.http_ok(f"http://127.0.0.1:{port}/", timeout_s=0.5)
    server = http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert launcher.port_open(port)
        assert launcher.http_ok(f"http://127.0.0.1:{port}/")
        assert not launcher.http_ok(f"http://127.0.0.1:{port}/no-such-file-here")
    finally:
        server.shutdown()
        server.server_close()


def test_commands_use_the_shared_worker_command_line():
    names = [name for name, _ in launcher.worker_commands(PY)]
    assert names == ["worker", "live-worker", "training-worker"]
    assert dict(launcher.worker_commands(PY))["live-worker"] == worker_command(PY, pool="prefork", loglevel="info")
    training = dict(launcher.worker_commands(PY))["training-worker"]
    assert training[:3] == ["nice", "-n", "19"] and training[training.index("-Q") + 1] == "training", \
        "adaptation jobs run on their own queue, below the live workers' CPU priority"
    assert launcher.daphne_command("0.0.0.0", 8123, PY) == [PY, "-m", "daphne", "-b", "0.0.0.0", "-p", "8123",
                                                            "webapp.asgi:application"]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_private_redis_starts_on_its_socket_and_stops(tmp_path):
    stack = launcher.Stack(dict(os.environ), log_dir=tmp_path)
    sock = tmp_path / "r.sock"
    try:
        url = launcher.start_redis(stack, sock)
        assert url == f"unix://{sock}"
        assert launcher.live_worker_queues(url) == []
        assert not launcher.heartbeat_alive(url, "clicks.nohost.1")
        pid = stack.children[0].process.pid
    finally:
        stack.stop()
    assert not process_alive(pid)
    assert launcher.live_worker_queues(url) == []  # Redis gone: an empty answer, not an exception
