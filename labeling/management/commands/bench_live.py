"""`manage.py bench_live --json OUT`: measure the live click path end to end over a real websocket.

By default it starts its own private stack (redis on a unix socket, fresh SQLite, one live worker,
daphne on a free loopback port), seeds a user, a project and two images (320×240 and 4000×3000), and
runs four scenarios: sequential click latency, a 10-click burst 20 ms apart, N concurrent sessions
for D seconds and the mask frame size at 4000×3000. Results go to stdout and, with --json, a file.
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
from pathlib import Path

from django.core.management.base import BaseCommand

from labeling.live.bench import client
from labeling.live.bench.seed import LARGE, SMALL


class Command(BaseCommand):
    help = "Benchmark the live annotation websocket (latency, overhead, burst, concurrency, payload)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", dest="json_out", help="write the results to this JSON file")
        parser.add_argument("--mode", default="grabcut", help="segmentation mode (default grabcut: no weights)")
        parser.add_argument("--model", default="default", help="model name (CLICKLABEL_WORKER_MODELS may add names)")
        parser.add_argument("--clicks", type=int, default=100, help="measured sequential clicks")
        parser.add_argument("--warmup", type=int, default=10)
        parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
        parser.add_argument("--duration", type=float, default=60.0, help="seconds of concurrent clicking")
        parser.add_argument("--period", type=float, default=2.0, help="seconds between clicks per session")
        parser.add_argument("--workers", type=int, default=1, help="live worker processes")
        parser.add_argument("--pool", choices=["prefork", "solo"], default="prefork", help="worker pool")
        parser.add_argument("--skip", action="append", default=[],
                            choices=["latency", "burst", "concurrent", "payload"], help="skip a scenario")
        parser.add_argument("--keep", action="store_true", help="keep the temporary var dir (logs)")
        parser.add_argument("--seed-only", action="store_true", help=argparse_hidden())

    def handle(self, *args, **opts) -> None:
        if opts["seed_only"]:
            from labeling.live.bench.seed import seed

            self.stdout.write(json.dumps(seed(opts["mode"], opts["model"])))
            return
        from labeling.live.bench.stack import remove_var_dir, start_stack

        self.stdout.write("starting a private stack (redis, worker, daphne)...")
        stack = start_stack(opts["mode"], opts["model"], workers=opts["workers"], pool=opts["pool"])
        try:
            results = asyncio.run(self.run_scenarios(stack, opts))
        finally:
            stack.stop()
            if not opts["keep"]:
                remove_var_dir(stack)
            else:
                self.stdout.write(f"logs kept in {stack.var_dir}")
        text = json.dumps(results, indent=2)
        self.stdout.write(text)
        if opts["json_out"]:
            Path(opts["json_out"]).write_text(text + "\n")

    async def run_scenarios(self, stack, opts) -> dict:
        seed = stack.seed
        small = client.Target(stack.ws_base, seed["cookie"], seed["small_image"], *SMALL)
        large = client.Target(stack.ws_base, seed["cookie"], seed["large_image"], *LARGE)
        mode, skip = opts["mode"], set(opts["skip"])
        out: dict = {"mode": mode, "model": opts["model"] if mode != "grabcut" else None,
                     "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
                                f"{platform.python_implementation()} {platform.python_version()}",
                     "workers": opts["workers"], "pool": opts["pool"], "image_small": list(SMALL), "image_large": list(LARGE)}
        if "latency" not in skip:
            self.stdout.write(f"latency: {opts['clicks']} sequential clicks on {SMALL[0]}x{SMALL[1]}...")
            res = await client.latency(small, opts["clicks"], opts["warmup"], mode)
            out.update(latency_ms_median=res["latency"]["median"], latency_ms_p95=res["latency"]["p95"],
                       model_ms_median=res["model"]["median"], model_ms_p95=res["model"]["p95"],
                       overhead_ms_median=res["overhead"]["median"], overhead_ms_p95=res["overhead"]["p95"],
                       latency_clicks=res["latency"]["n"], overhead_stages_ms=res["stages"])
        if "burst" not in skip:
            self.stdout.write("burst: 10 clicks 20 ms apart...")
            res = await client.burst(small, mode)
            out.update(burst_final_ms=res["final_ms"]["median"], burst_final_ms_p95=res["final_ms"]["p95"],
                       burst_model_ms_median=res["model_ms"]["median"], burst_masks_per_burst=res["masks_per_burst"])
        if "concurrent" not in skip:
            self.stdout.write(f"concurrent: {opts['sessions']} sessions for {opts['duration']:.0f} s...")
            res = await client.concurrent(small, mode, opts["sessions"], opts["duration"], opts["period"])
            out.update(concurrent_sessions=res["sessions"], concurrent_errors=res["errors"],
                       concurrent_error_samples=res["error_samples"], concurrent_clicks=res["clicks"],
                       concurrent_masks=res["masks"], concurrent_latency_ms_median=res["latency"]["median"],
                       concurrent_latency_ms_p95=res["latency"]["p95"], concurrent_period_s=opts["period"],
                       concurrent_duration_s=opts["duration"])
        if "payload" not in skip:
            self.stdout.write(f"payload: masks on {LARGE[0]}x{LARGE[1]}...")
            res = await client.payload(large, mode)
            out.update(payload_bytes_4000x3000=max(res["frame_bytes"]), payload_frames_4000x3000=res["frame_bytes"],
                       payload_png_bytes_4000x3000=res["png_bytes"], payload_model_ms_4000x3000=res["model_ms"],
                       payload_rois_4000x3000=res["rois"])
        return out


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS
