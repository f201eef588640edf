"""Redis key names shared by the web side (consumer, placement) and the worker side (heartbeats,
latest-wins checks). One module so both sides agree; plain strings, no Django, no torch."""
from __future__ import annotations

PREFIX = "clicklabel:live"
QUEUE_PREFIX = "clicks"

#: sorted set: member = worker queue name, score = unix time of its last heartbeat
WORKERS = f"{PREFIX}:workers"
#: hash: worker queue name -> number of sessions ever placed on it (load balancing hint)
WORKER_LOAD = f"{PREFIX}:load"


def heartbeat(queue: str) -> str:
    """Key that exists (with a TTL) while the worker consuming `queue` is alive."""
    return f"{PREFIX}:hb:{queue}"


def placement(session: str) -> str:
    """Key holding the worker queue that serves annotation session `session` (user + image)."""
    return f"{PREFIX}:place:{session}"


def latest(sid: str) -> str:
    """Key holding the newest click `seq` the consumer of connection `sid` has seen (latest wins)."""
    return f"{PREFIX}:latest:{sid}"


def worker_queue(hostname: str, pid: int) -> str:
    """The click queue of one worker process: `clicks.<hostname>.<pid>`."""
    safe_host = "".join(c if c.isalnum() or c in "-_" else "-" for c in hostname)
    return f"{QUEUE_PREFIX}.{safe_host}.{pid}"
