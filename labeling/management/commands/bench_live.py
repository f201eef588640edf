"""`manage.py bench_live --json OUT`: measure the live click path end to end over a real websocket.

By default it starts its own private stack (redis on a unix socket, fresh SQLite, one live worker,
daphne on a free loopback port), seeds a user, a project and images (320×240, 4000×3000 and a few fresh
320×240 ones), and runs five scenarios: sequential click latency, the first click after opening a prefetched and
a cold image (with the warm-up time), a 10-click burst 20 ms apart, N concurrent sessions for D seconds and the
mask frame size at 4000×3000. Results go to stdout and, with --json, a file.
The benchmark itself lives in `tools.bench_live`; this command parses the options and prints.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from django.core.management.base import BaseCommand

from tools.bench_live.scenarios import SCENARIOS, BenchOptions, bench_run
from tools.bench_live.seed import seed


class Command(BaseCommand):
    help = "Benchmark the live annotation websocket (latency, overhead, first click, burst, concurrency, payload)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", dest="json_out", help="write the results to this JSON file")
        parser.add_argument("--mode", default="grabcut", help="segmentation mode (default grabcut: no weights)")
        parser.add_argument("--model", default="default", help="model name (CLICKLABEL_WORKER_MODELS may add names)")
        parser.add_argument("--clicks", type=int, default=100, help="measured sequential clicks")
        parser.add_argument("--warmup", type=int, default=10)
        parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
        parser.add_argument("--duration", type=float, default=60.0, help="seconds of concurrent clicking")
        parser.add_argument("--period", type=float, default=2.0, help="seconds between clicks per session")
        parser.add_argument("--rounds", type=int, default=5, help="first-click rounds (fresh images each)")
        parser.add_argument("--fresh", type=int, default=0, help=argparse.SUPPRESS)
        parser.add_argument("--users", type=int, default=1, help=argparse.SUPPRESS)
        parser.add_argument("--workers", type=int, default=1, help="live worker processes")
        parser.add_argument("--pool", choices=["prefork", "solo"], default="prefork", help="worker pool")
        parser.add_argument("--skip", action="append", default=[], choices=list(SCENARIOS), help="skip a scenario")
        parser.add_argument("--keep", action="store_true", help="keep the temporary var dir (logs)")
        parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **opts) -> None:
        if opts["seed_only"]:  # run by the private stack, inside its own environment
            self.stdout.write(json.dumps(seed(opts["mode"], opts["model"], opts["fresh"], opts["users"])))
            return
        options = BenchOptions(mode=opts["mode"], model=opts["model"], clicks=opts["clicks"], warmup=opts["warmup"],
                               sessions=opts["sessions"], duration=opts["duration"], period=opts["period"],
                               rounds=opts["rounds"],
                               workers=opts["workers"], pool=opts["pool"], skip=frozenset(opts["skip"]),
                               keep=opts["keep"])
        results = bench_run(options, say=self.stdout.write)
        text = json.dumps(results, indent=2)
        self.stdout.write(text)
        if opts["json_out"]:
            Path(opts["json_out"]).write_text(text + "\n")
