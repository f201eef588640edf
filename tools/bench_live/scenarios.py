"""One run of the live benchmark: start the private stack, run the scenarios, stop it; results as one dict.

Scenarios (each can be skipped): sequential click `latency`, the `first_click` after opening a prefetched and a
cold image (and the warm-up time), a 10-click `burst` 20 ms apart, `concurrent` sessions for a while, and the mask
frame size (`payload`) on the large seeded image. `targets` compares the figures with the live path's targets
(docs/benchmarks.md).
"""
from __future__ import annotations

import asyncio
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field

from tools.bench_live import client
from tools.bench_live.stack import Stack, remove_var_dir, start_stack

SCENARIOS = ("latency", "first_click", "burst", "concurrent", "payload")
PAYLOAD_TARGET_BYTES = 100_000     # first mask frame at 4000×3000
OVERHEAD_TARGET_MS = 10.0          # median latency − model_ms
MARGIN_FIRST_CLICK_MS = 50.0       # first click: ≤ (warm-up +) one model latency + this
MARGIN_BURST_MS = 30.0             # burst: last click → final mask ≤ one model latency + this


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
    rounds: int = 5
    workers: int = 1
    pool: str = "prefork"
    skip: frozenset[str] = field(default_factory=frozenset)
    keep: bool = False


def bench_run(options: BenchOptions, say: Callable[[str], None] = print) -> dict:
    """Start a private stack, run the scenarios of `options`, stop the stack (and delete its var dir unless
    `keep`); returns the results. `say` receives progress lines."""
    say("starting a private stack (redis, worker, daphne)...")
    fresh = 3 * options.rounds if "first_click" not in options.skip else 0
    users = options.sessions if "concurrent" not in options.skip else 1
    stack = start_stack(options.mode, options.model, workers=options.workers, pool=options.pool, fresh=fresh,
                        users=users)
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
    if "first_click" not in skip:
        say(f"first click: {options.rounds} rounds of warm-up, cold and prefetched images...")
        fresh = [client.Target(stack.ws_base, seed["cookie"], image_id, *small_size) for image_id in seed["fresh_images"]]
        res = await client.first_clicks(small, fresh, mode, options.rounds)
        out.update(first_click_prefetched_ms=res["prefetched"]["median"], first_click_cold_ms=res["cold"]["median"],
                   warmup_ms=res["warmup_worker"]["median"], warmup_client_ms=res["warmup_client"]["median"],
                   first_click_model_ms_median=res["model"]["median"], first_click_rounds=options.rounds,
                   first_click_prefetched_ms_all=res["prefetched_all"], first_click_cold_ms_all=res["cold_all"])
    if "burst" not in skip:
        say("burst: 10 clicks 20 ms apart...")
        res = await client.burst(small, mode)
        out.update(burst_final_ms=res["final_ms"]["median"], burst_final_ms_p95=res["final_ms"]["p95"],
                   burst_model_ms_median=res["model_ms"]["median"], burst_masks_per_burst=res["masks_per_burst"],
                   burst_stages_ms=res["stages"], burst_final_ms_all=res["final_all"], burst_model_ms_all=res["model_all"],
                   burst_stages_ms_all=res["stages_all"])
    if "concurrent" not in skip:
        say(f"concurrent: {options.sessions} sessions for {options.duration:.0f} s...")
        annotators = [client.Target(stack.ws_base, cookie, seed["small_image"], *small_size)
                      for cookie in seed["cookies"]]     # one member per session (a user holds at most 8 sockets)
        res = await client.concurrent(annotators, mode, options.sessions, options.duration, options.period)
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
                   payload_rois_4000x3000=res["rois"], payload_first_frame_bytes_4000x3000=res["frame_bytes"][0])
    out["targets"] = targets(out)
    return out


def targets(out: dict) -> dict:
    """Each live-path target with its limit (from this run's model latency) and whether it was met."""
    model = out.get("model_ms_median")
    checks = {}
    if model is not None and "first_click_prefetched_ms" in out:
        checks["first_click_prefetched_ms"] = model + MARGIN_FIRST_CLICK_MS
        checks["first_click_cold_ms"] = out["warmup_ms"] + model + MARGIN_FIRST_CLICK_MS
    if "burst_final_ms" in out:
        checks["burst_final_ms"] = out["burst_model_ms_median"] + MARGIN_BURST_MS
    if "overhead_ms_median" in out:
        checks["overhead_ms_median"] = OVERHEAD_TARGET_MS
    if "payload_first_frame_bytes_4000x3000" in out:
        checks["payload_first_frame_bytes_4000x3000"] = PAYLOAD_TARGET_BYTES
    return {key: {"value": out[key], "limit": round(limit, 2), "met": out[key] <= limit} for key, limit in checks.items()}
