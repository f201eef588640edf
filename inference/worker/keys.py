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


def worker_queue(hostname: str, pid: int) -> str:
    """The click queue of one worker process: `clicks.<hostname>.<pid>`."""
    safe_host = "".join(c if c.isalnum() or c in "-_" else "-" for c in hostname)
    return f"{QUEUE_PREFIX}.{safe_host}.{pid}"


def user_sockets(user_id: int) -> str:
    """Sorted set of the open live connections (sid -> unix time last seen) of one user (socket cap)."""
    return f"{PREFIX}:sockets:u{user_id}"


def user_rate(user_id: int, kind: str, window: int) -> str:
    """Counter of `kind` events (prefetches, new objects) of one user in the fixed time window `window`."""
    return f"{PREFIX}:rate:u{user_id}:{kind}:{window}"
