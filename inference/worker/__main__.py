"""`python -m inference.worker`: one live click worker on its own queue, with heartbeats."""
from __future__ import annotations

import argparse
import logging
import os
import socket

from celery import signals
from celery.utils.imports import symbol_by_name

from inference.worker import keys, runtime
from inference.worker.heartbeat import Heartbeat
from inference.worker.memory import fix_mmap_threshold
from inference.worker.service import worker_preset

log = logging.getLogger("inference.worker")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m inference.worker", description=__doc__)
    parser.add_argument("--pool", choices=["prefork", "solo"], default="prefork")
    parser.add_argument("--loglevel", default="info")
    parser.add_argument("--queue", default=None, help="override the queue name (default clicks.<host>.<pid>)")
    args = parser.parse_args(argv)
    try:   # a bad engine setting stops the worker here, not at every click
        worker_preset()
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")

    fix_mmap_threshold()   # evicted sessions give their memory back (the pool child inherits it)
    queue = args.queue or keys.worker_queue(socket.gethostname(), os.getpid())
    os.environ[runtime.ENV_QUEUE] = queue          # inherited by the pool child
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
    app = symbol_by_name(os.environ.get("CLICKLABEL_CELERY_APP", "webapp.celery:app"))
    import inference.worker.tasks  # noqa: F401  (register the tasks even without autodiscovery)

    state: dict[str, Heartbeat] = {}

    @signals.worker_ready.connect(weak=False)
    def start_heartbeat(**_: object) -> None:
        import redis

        if args.pool == "solo":   # no pool child: this process computes, and is warmed before it takes sessions
            preload()
        state["hb"] = Heartbeat(redis.Redis.from_url(runtime.redis_url()), queue).start()
        log.info("live worker ready on queue %s", queue)

    @signals.worker_shutting_down.connect(weak=False)
    def stop_heartbeat(**_: object) -> None:
        hb = state.pop("hb", None)
        if hb is not None:
            hb.stop()

    @signals.worker_process_init.connect(weak=False)     # prefork: in the pool child, after fork
    def preload(**_: object) -> None:
        """In the process that computes (the pool child after fork, or the worker itself with --pool solo): build
        the runtime (scheduler threads), load the default model and run one forward pass with it."""
        rt = runtime.get()
        default = os.environ.get("CLICKLABEL_DEFAULT_MODEL", "default")
        try:
            rt.engine.warm_model(default, os.environ.get("CLICKLABEL_DEFAULT_MODE", "f-brs-b"))
        except Exception as exc:  # the engine reports per click; a worker without a model still serves GrabCut
            log.warning("could not preload %s: %r", default, exc)

    argv = ["worker", "-Q", queue, "-n", f"live-{os.getpid()}@{socket.gethostname()}", "--pool", args.pool,
            "--concurrency", "1", "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--loglevel", args.loglevel]
    app.worker_main(argv=argv)


if __name__ == "__main__":
    main()
