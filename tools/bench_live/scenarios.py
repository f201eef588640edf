"""One run of the live benchmark: start the private stack, run the scenarios, stop it; results as one dict.

Scenarios (each can be skipped): sequential click `latency`, a 10-click `burst` 20 ms apart, `concurrent`
sessions for a while, and the mask frame size (`payload`) on the large seeded image.
"""
from __future__ import annotations

import asyncio
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field

from tools.bench_live import client
from tools.bench_live.stack import Stack, remove_var_dir, start_stack

SCENARIOS = ("latency", "burst", "concurrent", "payload")


@dataclass(frozen=True)
class BenchOptions:
    """What to measure: engine mode/model, scenario sizes, worker processes, scenarios to skip."""

    mode: str = "grabcut"
    model: str = "default"
    clicks: int = 100
    warmup: int = 10
    sessions: int = 20
    duration: float = 60.0
    period: float = 2.0
    workers: int = 1
    pool: str = "prefork"
    skip: frozenset[str] = field(default_factory=frozenset)
    keep: bool = False


def bench_run(options: BenchOptions, say: Callable[[str], None] = print) -> dict:
    """Start a private stack, run the scenarios of `options`, stop the stack (and delete its var dir unless
    `keep`); returns the results. `say` receives progress lines."""
    say("starting a private stack (redis, worker, daphne)...")
    stack = start_stack(options.mode, options.model, workers=options.workers, pool=options.pool)
    try:
        return asyncio.run(run_scenarios(stack, options, say))
    finally:
        stack.stop()
        if not options.keep:
            remove_var_dir(stack)
        else:
            say(f"logs kept in {stack.var_dir}")


async def run_scenarios(stack: Stack, options: BenchOptions, say: Callable[[str], None] = print) -> dict:
    """Run the scenarios against a started stack; the seeded images' sizes come from `stack.seed`."""
    seed = stack.seed
    small_size, large_size = tuple(seed["sizes"]["small"]), tuple(seed["sizes"]["large"])
    small = client.Target(stack.ws_base, seed["cookie"], seed["small_image"], *small_size)
    large = client.Target(stack.ws_base, seed["cookie"], seed["large_image"], *large_size)
    mode, skip = options.mode, options.skip
    out: dict = {"mode": mode, "model": options.model if mode != "grabcut" else None,
                 "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
                            f"{platform.python_implementation()} {platform.python_version()}",
                 "workers": options.workers, "pool": options.pool, "image_small": list(small_size),
                 "image_large": list(large_size)}
    if "latency" not in skip:
        say(f"latency: {options.clicks} sequential clicks on {small_size[0]}x{small_size[1]}...")
        res = await client.latency(small, options.clicks, options.warmup, mode)
        out.update(latency_ms_median=res["latency"]["median"], latency_ms_p95=res["latency"]["p95"],
                   model_ms_median=res["model"]["median"], model_ms_p95=res["model"]["p95"],
                   overhead_ms_median=res["overhead"]["median"], overhead_ms_p95=res["overhead"]["p95"],
                   latency_clicks=res["latency"]["n"], overhead_stages_ms=res["stages"])
    if "burst" not in skip:
        say("burst: 10 clicks 20 ms apart...")
        res = await client.burst(small, mode)
        out.update(burst_final_ms=res["final_ms"]["median"], burst_final_ms_p95=res["final_ms"]["p95"],
                   burst_model_ms_median=res["model_ms"]["median"], burst_masks_per_burst=res["masks_per_burst"])
    if "concurrent" not in skip:
        say(f"concurrent: {options.sessions} sessions for {options.duration:.0f} s...")
        res = await client.concurrent(small, mode, options.sessions, options.duration, options.period)
        out.update(concurrent_sessions=res["sessions"], concurrent_errors=res["errors"],
                   concurrent_error_samples=res["error_samples"], concurrent_clicks=res["clicks"],
                   concurrent_masks=res["masks"], concurrent_latency_ms_median=res["latency"]["median"],
                   concurrent_latency_ms_p95=res["latency"]["p95"], concurrent_period_s=options.period,
                   concurrent_duration_s=options.duration)
    if "payload" not in skip:
        say(f"payload: masks on {large_size[0]}x{large_size[1]}...")
        res = await client.payload(large, mode)
        out.update(payload_bytes_4000x3000=max(res["frame_bytes"]), payload_frames_4000x3000=res["frame_bytes"],
                   payload_png_bytes_4000x3000=res["png_bytes"], payload_model_ms_4000x3000=res["model_ms"],
                   payload_rois_4000x3000=res["rois"])
    return out
