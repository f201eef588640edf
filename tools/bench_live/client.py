"""Websocket scenarios of `bench_live`, driven from one asyncio client process (the `websockets` package).

Latency is measured on the client from sending a click to receiving its `mask`; overhead = latency −
the worker's `model_ms` (engine time: session sync + inference), i.e. everything the live stack adds
(websocket, consumer, Redis, Celery, the worker's scheduler, PNG encoding, channel layer)."""
from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect

from tools.bench_live.stats import summary

ORIGIN = "http://127.0.0.1"


@dataclass
class Target:
    ws_base: str
    cookie: str
    image_id: int
    width: int
    height: int


async def connect_only(target: Target) -> ClientConnection:
    """Open the socket without reading anything."""
    return await connect(f"{target.ws_base}/ws/annotate/{target.image_id}/", origin=ORIGIN,
                         additional_headers={"Cookie": target.cookie}, max_size=2**22, open_timeout=30)


async def receive_until(ws: ClientConnection, wanted, timeout: float = 120.0) -> dict:
    """Messages until one for which `wanted(message)` holds (returned); an `error` raises."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if wanted(message):
            return message
        if message["type"] == "error":
            raise RuntimeError(f"error: {message}")


async def open_socket(target: Target, wait_warm_s: float = 120.0) -> ClientConnection:
    """Connect, read `ready`, and wait for the worker's warm-up report (if one comes)."""
    ws = await connect_only(target)
    deadline = time.monotonic() + wait_warm_s
    ready = False
    while time.monotonic() < deadline:
        message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if message["type"] == "ready":
            ready = True
        elif message["type"] == "warm":
            break
        elif message["type"] == "error":
            raise RuntimeError(f"socket refused: {message}")
    if not ready:
        raise RuntimeError("no ready message")
    return ws


def click_plan(width: int, height: int, rng: random.Random, per_object: int = 4):
    """Endless (object_id, clicks) pairs: a positive click on the ellipse, then alternating corrections."""
    obj = 0
    cx, cy = width * 0.45, height * 0.5
    while True:
        obj += 1
        clicks = []
        for i in range(per_object):
            if i % 2 == 0:
                x, y, positive = cx + rng.uniform(-0.1, 0.1) * width, cy + rng.uniform(-0.1, 0.1) * height, True
            else:
                x, y, positive = rng.uniform(0.02, 0.2) * width, rng.uniform(0.02, 0.98) * height, False
            clicks.append({"x": round(x, 1), "y": round(y, 1), "positive": positive})
            yield f"obj-{obj}", list(clicks)


async def wait_mask(ws: ClientConnection, seq: int, timeout: float = 60.0) -> tuple[dict, int, list[dict]]:
    """Receive until the mask for `seq`; returns (mask, frame bytes, other messages seen)."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        message = json.loads(raw)
        if message["type"] == "mask" and message["seq"] == seq:
            return message, len(raw.encode() if isinstance(raw, str) else raw), seen
        if message["type"] == "error":
            raise RuntimeError(f"error for seq {message.get('seq')}: {message}")
        seen.append(message)


async def latency(target: Target, n: int, warmup: int, mode: str) -> dict:
    """Sequential clicks, one at a time: click→mask latency, model_ms, overhead."""
    rng = random.Random(1)
    plan = click_plan(target.width, target.height, rng)
    ws = await open_socket(target)
    lat, model, overhead = [], [], []
    steps: dict[str, list[int]] = {}       # per object: the steps of its last mask, sent back as the browser does
    stages: dict[str, list[float]] = {"client_to_dispatch": [], "dispatch_to_worker": [], "worker_queue": [],
                                      "worker_non_model": [], "worker_to_client": []}
    try:
        for seq in range(1, warmup + n + 1):
            object_id, clicks = next(plan)
            t0, wall0 = time.perf_counter(), time.time()
            await ws.send(json.dumps({"type": "click", "seq": seq, "object_id": object_id, "clicks": clicks,
                                      "steps": steps.get(object_id, []), "mode": mode}))
            mask, _, _ = await wait_mask(ws, seq)
            ms, wall1 = (time.perf_counter() - t0) * 1e3, time.time()
            steps[object_id] = mask.get("steps", [])
            if seq > warmup:
                lat.append(ms)
                model.append(mask["model_ms"])
                overhead.append(ms - mask["model_ms"])
                timing = mask.get("timing") or {}
                if timing.get("dispatched"):
                    stages["client_to_dispatch"].append((timing["dispatched"] - wall0) * 1e3)
                    stages["dispatch_to_worker"].append((timing["received"] - timing["dispatched"]) * 1e3)
                    stages["worker_queue"].append((timing["started"] - timing["received"]) * 1e3)
                    stages["worker_non_model"].append((timing["sent"] - timing["started"]) * 1e3 - mask["model_ms"])
                    stages["worker_to_client"].append((wall1 - timing["sent"]) * 1e3)
    finally:
        await ws.close()
    return {"latency": summary(lat), "model": summary(model), "overhead": summary(overhead),
            "stages": {name: summary(values) for name, values in stages.items()}}


async def burst(target: Target, mode: str, repeats: int = 5, clicks_per_burst: int = 10,
                gap_s: float = 0.020) -> dict:
    """10 clicks 20 ms apart; time from the last click to its mask, and how many masks came back."""
    ws = await open_socket(target)
    finals, delivered, model = [], [], []
    stages: dict[str, list[float]] = {"last_click_to_dispatch": [], "dispatch_to_worker": [], "worker_queue": [],
                                      "worker_compute": [], "worker_to_client": []}
    seq = 0
    rng = random.Random(2)
    try:
        for rep in range(repeats):
            clicks = []
            for i in range(clicks_per_burst):
                seq += 1
                positive = i % 2 == 0
                x = target.width * (0.45 if positive else rng.uniform(0.02, 0.2)) + rng.uniform(-3, 3)
                y = target.height * (0.5 if positive else rng.uniform(0.05, 0.95)) + rng.uniform(-3, 3)
                clicks.append({"x": round(x, 1), "y": round(y, 1), "positive": positive})
                await ws.send(json.dumps({"type": "click", "seq": seq, "object_id": f"burst-{rep}",
                                          "clicks": clicks, "mode": mode}))
                t_last, wall_last = time.perf_counter(), time.time()
                if i < clicks_per_burst - 1:
                    await asyncio.sleep(gap_s)
            mask, _, seen = await wait_mask(ws, seq)
            finals.append((time.perf_counter() - t_last) * 1e3)
            timing, wall_end = mask.get("timing") or {}, time.time()
            if timing.get("dispatched"):
                stages["last_click_to_dispatch"].append((timing["dispatched"] - wall_last) * 1e3)
                stages["dispatch_to_worker"].append((timing["received"] - timing["dispatched"]) * 1e3)
                stages["worker_queue"].append((timing["started"] - timing["received"]) * 1e3)
                stages["worker_compute"].append((timing["sent"] - timing["started"]) * 1e3)
                stages["worker_to_client"].append((wall_end - timing["sent"]) * 1e3)
            delivered.append(1 + sum(1 for m in seen if m["type"] == "mask"))
            model.append(mask["model_ms"])
            await asyncio.sleep(0.5)
    finally:
        await ws.close()
    return {"final_ms": summary(finals), "masks_per_burst": delivered, "model_ms": summary(model),
            "stages": {name: summary(values) for name, values in stages.items()},
            "final_all": [round(v, 1) for v in finals], "model_all": [round(v, 1) for v in model],
            "stages_all": {name: [round(v, 1) for v in values] for name, values in stages.items()}}


@dataclass
class SessionLog:
    sent: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    clicks: int = 0


async def concurrent(targets: list[Target], mode: str, sessions: int, duration_s: float, period_s: float) -> dict:
    """`sessions` sockets (session i logged in as targets[i % len(targets)]) clicking every ~period_s for
    duration_s; errors = error messages, dropped sockets, and sessions whose last click never got its mask."""
    logs = [SessionLog() for _ in range(sessions)]

    async def one(index: int) -> None:
        log = logs[index]
        target = targets[index % len(targets)]
        rng = random.Random(100 + index)
        plan = click_plan(target.width, target.height, rng)
        try:
            ws = await open_socket(target)
        except Exception as exc:  # noqa: BLE001 - every failure is a benchmark error
            log.errors.append(f"connect: {exc!r}")
            return

        async def reader() -> None:
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "mask" and message["seq"] in log.sent:
                    log.latencies.append((time.perf_counter() - log.sent[message["seq"]]) * 1e3)
                    log.sent[message["seq"]] = -1.0
                    steps[message["object_id"]] = message.get("steps", [])
                elif message["type"] == "error":
                    log.errors.append(f"{message.get('code')}: {message.get('message')}")

        steps: dict[str, list[int]] = {}     # per object: the steps of its last mask (as the browser keeps them)
        reading = asyncio.ensure_future(reader())
        try:
            await asyncio.sleep(rng.uniform(0, period_s))
            end = time.monotonic() + duration_s
            seq = 0
            while time.monotonic() < end:
                seq += 1
                object_id, clicks = next(plan)
                log.sent[seq] = time.perf_counter()
                log.clicks += 1
                await ws.send(json.dumps({"type": "click", "seq": seq, "object_id": f"s{index}-{object_id}",
                                          "clicks": clicks, "steps": steps.get(f"s{index}-{object_id}", []),
                                          "mode": mode}))
                await asyncio.sleep(period_s * rng.uniform(0.7, 1.3))
            deadline = time.monotonic() + 60
            while log.sent.get(seq, -1.0) >= 0 and time.monotonic() < deadline and not reading.done():
                await asyncio.sleep(0.05)
            if log.sent.get(seq, -1.0) >= 0:
                log.errors.append(f"no mask for the last click (seq {seq})")
        except Exception as exc:  # noqa: BLE001
            log.errors.append(f"socket: {exc!r}")
        finally:
            reading.cancel()
            await ws.close()

    await asyncio.gather(*(one(i) for i in range(sessions)))
    latencies = [ms for log in logs for ms in log.latencies]
    errors = [e for log in logs for e in log.errors]
    return {"sessions": sessions, "errors": len(errors), "error_samples": errors[:5],
            "clicks": sum(log.clicks for log in logs), "masks": len(latencies), "latency": summary(latencies)}


async def payload(target: Target, mode: str) -> dict:
    """Frame sizes of masks on a large image (three clicks on one object)."""
    ws = await open_socket(target, wait_warm_s=300)
    frames, pngs, model, rois = [], [], [], []
    w, h = target.width, target.height
    clicks = [{"x": w * 0.45, "y": h * 0.5, "positive": True}, {"x": w * 0.1, "y": h * 0.5, "positive": False},
              {"x": w * 0.5, "y": h * 0.6, "positive": True}]
    steps: list[int] = []
    try:
        for seq in range(1, 4):
            await ws.send(json.dumps({"type": "click", "seq": seq, "object_id": "big", "clicks": clicks[:seq],
                                      "steps": steps, "mode": mode}))
            mask, size, _ = await wait_mask(ws, seq, timeout=300)
            steps = mask.get("steps", [])
            frames.append(size)
            pngs.append(len(mask["png"]) * 3 // 4)
            model.append(mask["model_ms"])
            rois.append(mask["roi"])
    finally:
        await ws.close()
    return {"frame_bytes": frames, "png_bytes": pngs, "model_ms": model, "rois": rois}


def centre_click(target: Target) -> dict:
    """A positive click on the seeded object (the ellipse centred at 45 % / 50 % of the image)."""
    return {"x": round(target.width * 0.45, 1), "y": round(target.height * 0.5, 1), "positive": True}


async def warmup(target: Target) -> dict:
    """Open a never-seen image and wait for its preparation: client time connect → `warm`, and the worker's
    decode + prepare time."""
    t0 = time.perf_counter()
    ws = await connect_only(target)
    try:
        warm = await receive_until(ws, lambda m: m["type"] == "warm" and m.get("image_id") == target.image_id)
    finally:
        await ws.close()
    return {"client_ms": (time.perf_counter() - t0) * 1e3, "worker_ms": warm["decode_ms"] + warm["prepare_ms"],
            "cached": warm.get("cached", False)}


async def first_click_cold(target: Target, mode: str) -> dict:
    """Open a never-seen image and click as soon as `ready` arrives: click → mask."""
    ws = await connect_only(target)
    try:
        await receive_until(ws, lambda m: m["type"] == "ready")
        t0 = time.perf_counter()
        await ws.send(json.dumps({"type": "click", "seq": 1, "object_id": "first", "clicks": [centre_click(target)],
                                  "mode": mode}))
        mask, _, _ = await wait_mask(ws, 1)
    finally:
        await ws.close()
    return {"ms": (time.perf_counter() - t0) * 1e3, "model_ms": mask["model_ms"]}


async def first_click_prefetched(current: Target, following: Target, mode: str) -> dict:
    """While annotating `current`, prefetch `following` (as the annotator page does) and wait until the worker
    prepared it; then leave `current`, open `following` and click as soon as `ready` arrives: click → mask."""
    ws = await open_socket(current)
    try:
        await ws.send(json.dumps({"type": "prefetch", "image_id": following.image_id}))
        await receive_until(ws, lambda m: m["type"] == "warm" and m.get("image_id") == following.image_id)
    finally:
        await ws.close()
    ws = await connect_only(following)
    try:
        await receive_until(ws, lambda m: m["type"] == "ready")
        t0 = time.perf_counter()
        await ws.send(json.dumps({"type": "click", "seq": 1, "object_id": "first",
                                  "clicks": [centre_click(following)], "mode": mode}))
        mask, _, _ = await wait_mask(ws, 1)
    finally:
        await ws.close()
    return {"ms": (time.perf_counter() - t0) * 1e3, "model_ms": mask["model_ms"]}


async def first_clicks(current: Target, fresh: list[Target], mode: str, rounds: int) -> dict:
    """`rounds` × (warm-up of a fresh image, first click on a cold one, first click on a prefetched one), each on
    its own never-opened image (3 × rounds fresh images)."""
    if len(fresh) < 3 * rounds:
        raise ValueError(f"{rounds} rounds need {3 * rounds} fresh images, got {len(fresh)}")
    warm, cold, prefetched, model = [], [], [], []
    for r in range(rounds):
        warm.append(await warmup(fresh[3 * r]))
        await asyncio.sleep(0.3)
        c = await first_click_cold(fresh[3 * r + 1], mode)
        cold.append(c["ms"])
        model.append(c["model_ms"])
        await asyncio.sleep(0.3)
        p = await first_click_prefetched(current, fresh[3 * r + 2], mode)
        prefetched.append(p["ms"])
        model.append(p["model_ms"])
        await asyncio.sleep(0.3)
    return {"warmup_worker": summary([w["worker_ms"] for w in warm]),
            "warmup_client": summary([w["client_ms"] for w in warm]), "cold": summary(cold),
            "prefetched": summary(prefetched), "model": summary(model), "cold_all": [round(v, 1) for v in cold],
            "prefetched_all": [round(v, 1) for v in prefetched]}
