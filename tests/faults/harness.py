"""Fault rehearsal on the embedded stack as `make run` starts it (tools/stack.py: a private redis-server on a unix
socket, SQLite, the Celery worker, one live click worker, daphne), driven by annotator clients
(tools/bench_live/annotator.py) in threads.

`run_fault` lets every client start an object, injects the fault while they are mid-object, lets them finish
(each: `objects` saved objects, then one object left unfinished with its draft autosaved) and checks through the
REST API that every annotation the server acknowledged is stored with its clicks and that every client's last
acknowledged draft is the stored one. The row it returns is one line of the fault table.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from tools import stack as launcher
from tools.bench_live.annotator import Account, Annotator
from tools.bench_live.stats import percentile

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0
STALL_FACTOR, STALL_MIN_MS = 5.0, 2000.0   # a click this much slower than before the fault was held up by it


class EmbeddedStack:
    """The processes of `make run` (scripts/run_stack.py) in a temporary var dir; children can be killed and
    started again the way a process supervisor would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sock = root / "redis.sock"
        self.port = launcher.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "MEDIA_ROOT")}
        env.update(DJANGO_SETTINGS_MODULE="webapp.settings.base", DJANGO_DEBUG="1", CLICKLABEL_VAR_DIR=str(root),
                   REDIS_URL=f"unix://{self.sock}", PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
        self.env = env
        (root / "logs").mkdir(parents=True, exist_ok=True)
        self.processes = launcher.Stack(env, log_dir=root / "logs", cwd=REPO)
        self.commands = {"redis": launcher.redis_command(self.sock),
                         **dict(launcher.worker_commands()),
                         "web": launcher.daphne_command("127.0.0.1", self.port)}

    def start(self) -> None:
        self.processes.start("redis", self.commands["redis"])
        self.processes.wait_until(self.sock.exists, "redis", 20)
        launcher.manage(["migrate", "--noinput", "-v", "0"], self.env, capture=True, timeout_s=300, cwd=REPO)
        for name in ("worker", "live-worker", "web"):
            self.processes.start(name, self.commands[name])
        self.wait_ready()

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until daphne answers and a live worker beats."""
        redis_url = self.env["REDIS_URL"]
        self.processes.wait_until(lambda: launcher.http_ok(self.base_url + "/accounts/login/"), "daphne", timeout_s)
        self.processes.wait_until(lambda: bool(launcher.live_worker_queues(redis_url))
                                  and any(launcher.heartbeat_alive(redis_url, q)
                                          for q in launcher.live_worker_queues(redis_url)),
                                  "a live worker heartbeat", timeout_s)

    def child(self, name: str) -> launcher.Child:
        return next(c for c in self.processes.children if c.name == name)

    def kill(self, name: str) -> None:
        """SIGKILL a child's whole process group (no clean shutdown) and forget it."""
        import signal

        child = self.child(name)
        launcher.signal_group(child.process, signal.SIGKILL)
        child.process.wait(timeout=10)
        self.processes.children.remove(child)

    def stop_child(self, name: str) -> None:
        """SIGTERM, then SIGKILL after the grace period, as `make run`'s Ctrl-C does, and forget it."""
        child = self.child(name)
        launcher.stop_processes([child.process], grace_s=10.0)
        self.processes.children.remove(child)

    def restart(self, name: str, kill: bool = False) -> None:
        """Stop (or SIGKILL) a child and start it again with the same command line."""
        (self.kill if kill else self.stop_child)(name)
        if name == "redis":
            self.sock.unlink(missing_ok=True)
        self.processes.start(name, self.commands[name])
        if name == "redis":
            self.processes.wait_until(self.sock.exists, "redis", 20)

    def seed(self, users: int, prefix: str) -> list[dict]:
        """Seeded accounts (tools/loadtest/seed.py) of `users` users named `<prefix>-NNN`."""
        out = self.root / f"seed-{prefix}.json"
        subprocess.run([sys.executable, "-m", "tools.loadtest.seed", "--users", str(users), "--images", "1",
                        "--size", "320x240", "--prefix", prefix, "--out", str(out)], cwd=REPO, env=self.env,
                       check=True, capture_output=True, timeout=300)
        return json.loads(out.read_text())["accounts"]

    def stop(self) -> None:
        self.processes.stop()


@dataclass
class ClientLog:
    """Every attempt of one client: (end time, what, ok, ms)."""

    attempts: list[tuple[float, str, bool, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, name: str, ms: float, size: int, error: Exception | None) -> None:
        with self.lock:
            self.attempts.append((time.time(), f"{kind} {name}", error is None, ms))


@dataclass
class FaultRow:
    """One line of the fault table."""

    fault: str
    clients: int
    clients_affected: int
    recover_s: float
    annotations_saved: int
    annotations_lost: int
    drafts_saved: int
    drafts_lost: int
    duplicates: int
    reconnects: int
    failed_attempts: int
    unfinished_clients: int
    failure_kinds: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _kind(error: str) -> str:
    """The gist of a failure's text: the exception's name or the server's error code."""
    head = error.split("(", 1)[0]
    if head == "RuntimeError":
        return error.split("'", 2)[1].split(":")[0] if "'" in error else head
    return head


def _recovery(log: ClientLog, fault_at: float, baseline_ms: float) -> float | None:
    """Seconds from the fault until this client was served again: the end of its first successful click after
    its last failed attempt (or after its stalled click); None when the fault did not touch it."""
    attempts = sorted(log.attempts)
    after = [a for a in attempts if a[0] >= fault_at]
    failed = [a for a in after if not a[2]]
    stalled = [a for a in after if a[2] and a[1] == "WS click" and a[3] > max(STALL_MIN_MS, STALL_FACTOR * baseline_ms)
               and a[0] - a[3] / 1e3 <= fault_at + 60]
    if not failed and not stalled:
        return None
    if failed:
        last_failure = failed[-1][0]
        served = next((a for a in after if a[0] > last_failure and a[2] and a[1] == "WS click"), None)
        end = served[0] if served else last_failure
    else:
        end = stalled[0][0]
    return max(0.0, end - fault_at)


def run_fault(stack: EmbeddedStack, name: str, inject, accounts: list[dict], objects: int = 3,
              clicks: int = 4, timeout_s: float = 300.0) -> FaultRow:
    """Clients annotate; `inject()` runs once every client is mid-object and one of them waits for a mask;
    returns the fault table row."""
    logs = [ClientLog() for _ in accounts]
    clients = [Annotator(Account.from_dict(acc), stack.base_url, requests.Session(), record=log.record,
                         rng=random.Random(i), think_s=(0.3, 0.8), retry_for_s=240.0)
               for i, (acc, log) in enumerate(zip(accounts, logs))]
    outcome: dict[int, str] = {}

    def work(i: int) -> None:
        client = clients[i]
        try:
            client.open(client.account.images[0])
            for _ in range(objects):
                client.annotate_object(clicks)
            client.annotate_object(2, finish=False)       # an object in progress: only its draft is saved
            outcome[i] = "done"
        except Exception as exc:  # noqa: BLE001 - reported in the row
            outcome[i] = f"{type(exc).__name__}: {exc}"
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s
    while not (all(c.counts["masks"] >= 2 for c in clients) and any(c.clicking for c in clients)):
        if time.monotonic() > deadline or not any(t.is_alive() for t in threads):
            break
        time.sleep(0.005)
    baseline = percentile([ms for c in clients for ms in c.click_ms[1:]], 50)
    fault_at = time.time()
    inject()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    return _check(stack, name, clients, logs, outcome, fault_at, baseline)


def _check(stack: EmbeddedStack, name: str, clients: list[Annotator], logs: list[ClientLog],
           outcome: dict[int, str], fault_at: float, baseline_ms: float) -> FaultRow:
    """Compare what the server acknowledged with what it stores now (through the REST API)."""
    session = requests.Session()
    lost = dupes = drafts_lost = 0
    errors = [f"client {i}: {text}" for i, text in sorted(outcome.items()) if text != "done"]
    errors += [f"client {i}: did not finish" for i in range(len(clients)) if i not in outcome]
    for client in clients:
        headers = {"Authorization": f"Token {client.account.token}"}
        for item in client.saved:
            response = session.get(f"{stack.base_url}/api/annotations/{item['id']}/", headers=headers, timeout=30)
            if response.status_code != 200 or response.json()["clicks"] != item["clicks"]:
                lost += 1
                errors.append(f"{client.account.username}: annotation {item['id']} -> {response.status_code}")
        for image in client.account.images:
            listed = session.get(f"{stack.base_url}/api/annotations/", params={"image": image["id"], "page_size": 1000},
                                 headers=headers, timeout=30).json()["results"]
            dupes += len([a for a in listed if a["id"] not in {s["id"] for s in client.saved}])
        for image_id, state in client.drafts.items():
            response = session.get(f"{stack.base_url}/api/images/{image_id}/draft/", headers=headers, timeout=30)
            if response.status_code != 200 or response.json()["state"] != state:
                drafts_lost += 1
                errors.append(f"{client.account.username}: draft of image {image_id} -> {response.status_code}")
    recoveries = [_recovery(log, fault_at, baseline_ms) for log in logs]
    touched = [r for r in recoveries if r is not None]
    return FaultRow(fault=name, clients=len(clients), clients_affected=len(touched),
                    recover_s=round(max(touched), 1) if touched else 0.0,
                    annotations_saved=sum(len(c.saved) for c in clients), annotations_lost=lost,
                    drafts_saved=sum(len(c.drafts) for c in clients), drafts_lost=drafts_lost, duplicates=dupes,
                    reconnects=sum(c.counts["reconnects"] for c in clients),
                    failed_attempts=sum(len(c.failures) for c in clients),
                    unfinished_clients=len([i for i in range(len(clients)) if outcome.get(i) != "done"]),
                    failure_kinds=dict(Counter(f"{f.what}: {_kind(f.error)}" for c in clients for f in c.failures)),
                    errors=errors[:20])
