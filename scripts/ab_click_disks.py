"""Per-click latency with the windowed click disks against the earlier full-map loop, in one process.

The two encodings give identical maps (tests/inference/test_mobilenet.py); this only times them. Runs alternate
between the two so that the host's drift hits both alike, and the ratio of medians is the figure to read
(docs/benchmarks.md). Usage:

    PYTHONPATH=. .venv/bin/python scripts/ab_click_disks.py [--rounds 6] [--clicks 20] [--size 480]
"""
from __future__ import annotations

import argparse
from typing import Callable

import numpy as np
import torch

from inference import bench
from inference.model_zoo import load_model
from inference.networks import mobilenet
from inference.refine import GuidedFilterParams

LIVE_BRS = bench.BRSSettings(warm_start=False, net_clicks_limit=None)
MODES = ("nobrs", "f-brs-b")


def full_map_click_disks(points: torch.Tensor, height: int, width: int, radius: float = 5.0) -> torch.Tensor:
    """The encoding before the windowed one: one whole-map pass per padded click slot and polarity."""
    batch, rows = points.shape[:2]
    half = rows // 2
    ys = torch.arange(height, dtype=torch.float32).view(1, 1, height, 1)
    xs = torch.arange(width, dtype=torch.float32).view(1, 1, 1, width)
    out = torch.zeros(batch, 2, height, width, dtype=torch.float32)
    for group in range(2):
        pts = points[:, group * half:(group + 1) * half, :2].float()
        for k in range(half):
            py, px = pts[:, k, 0].view(batch, 1, 1, 1), pts[:, k, 1].view(batch, 1, 1, 1)
            valid = ((py >= 0) & (px >= 0)).float()
            disk = (((ys - py) ** 2 + (xs - px) ** 2) <= float(radius) ** 2).float() * valid
            out[:, group:group + 1] = torch.maximum(out[:, group:group + 1], disk)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model("default", device="cpu")
    image, gt = bench.synthetic_scene(args.size)
    clicks = bench.make_clicks(model, image, gt, args.clicks, threads=args.threads)
    encodings: dict[str, Callable[..., torch.Tensor]] = {"full-map": full_map_click_disks,
                                                          "windowed": mobilenet.click_disks}
    seconds: dict[tuple[str, str], list[float]] = {(m, e): [] for m in MODES for e in encodings}
    try:
        for round_ in range(args.rounds):
            order = list(encodings) if round_ % 2 == 0 else list(reversed(encodings))
            for name in order:
                mobilenet.click_disks = encodings[name]
                for mode in MODES:
                    run = bench.bench_mode(model, image, clicks, mode, threads=args.threads,
                                           refine=GuidedFilterParams(radius=4, eps=1e-3), brs=LIVE_BRS)
                    seconds[(mode, name)].extend(run["seconds_per_click"])
    finally:
        mobilenet.click_disks = encodings["windowed"]
    for mode in MODES:
        old, new = (float(np.median(seconds[(mode, name)])) for name in encodings)
        print(f"{mode}: full-map {old * 1000:.1f} ms, windowed {new * 1000:.1f} ms median per click "
              f"(n={len(seconds[(mode, 'windowed')])} each), ratio {new / old:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
