"""Per-click timing of the predictor modes on one model, same image and same clicks for every mode.

    python -m inference.bench --model PATH_OR_NAME --modes nobrs,rgb-brs,f-brs-b --size 480 --clicks 10 \
        [--preset app|reference] [--set NAME=VALUE ...] [--optimise auto|on|off] [--json OUT.json]

The settings are a preset's (`inference.predictors.presets`: `app` (default), what the live workers run, or
`reference`) with `--set` overrides, as in `python -m inference.evaluate`. The image is synthetic (closed-form
texture + an elliptic object with a thin tail, longest side `--size`), or `--image PATH` resized to longest side
`--size`; the click sequence is made once by the automatic clicker against NoBRS predictions, or given with
`--click-list JSON` (`[[x, y, positive], ...]` in the pixels of `--image`, scaled with it), and then replayed in
every mode. Reported per mode: median / p90 / mean seconds per click, peak memory (CUDA: max allocated; CPU: peak
resident set size of the process sampled while the mode runs) and `ratio_to_rgb_brs` = mean seconds per click of
the mode / mean seconds per click of `rgb-brs` in the same run, and the seconds the session took to set up (per
image: the image tensor, and the guide statistics when the preset refines).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from inference.clicks import Click
from inference.predictors.base import PredictorConfig
from inference.utils.cli import add_preset_arguments, positive_int
from inference.utils.device import torch_threads

__all__ = ["synthetic_scene", "make_clicks", "bench_mode", "run_bench", "main"]


def synthetic_scene(size: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (H, W, 3) RGB with W = size, H = round(2/3·size), and its bool (H, W) object mask."""
    if size < 32:
        raise ValueError(f"--size must be >= 32, got {size}")
    width, height = size, int(round(size * 2 / 3))
    yy, xx = np.mgrid[:height, :width].astype(np.float64)
    u, v = xx / width, yy / height
    base = 90 + 40 * np.sin(23 * u + 7 * v) * np.cos(17 * v - 5 * u)
    image = np.stack([base, base * 0.9 + 20 * np.sin(40 * u), base * 0.8 + 30 * np.cos(31 * v)], axis=-1)
    ellipse = ((u - 0.4) / 0.22) ** 2 + ((v - 0.55) / 0.25) ** 2 <= 1
    tail = (np.abs(v - 0.55 - 0.04 * np.sin(25 * u)) < 0.025) & (u > 0.55) & (u < 0.9)
    mask = ellipse | tail
    image[mask] = np.array([235, 140, 45]) + 15 * np.sin(60 * u[mask])[:, None]
    return np.clip(image, 0, 255).astype(np.uint8), mask


def _next_click(gt: np.ndarray, pred: np.ndarray, clicked: np.ndarray) -> Click:
    from inference.evaluation.clicker import next_click
    return next_click(gt, pred, np.zeros_like(gt), clicked)


def make_clicks(model: Any, image: np.ndarray, gt: np.ndarray, n_clicks: int,
                threads: int | None = None) -> list[Click]:
    """`n_clicks` clicks from the automatic clicker against NoBRS predictions (fixed for all modes)."""
    from inference.session import SegmentationSession
    session = SegmentationSession(model, image, mode="nobrs", num_threads=threads)
    pred = np.zeros(gt.shape, dtype=bool)
    clicked = np.zeros(gt.shape, dtype=bool)
    clicks: list[Click] = []
    for _ in range(n_clicks):
        click = _next_click(gt, pred, clicked)
        clicked[int(click.y), int(click.x)] = True
        clicks.append(click)
        pred = session.add_click(click) > 0.49
    return clicks


class _PeakMemory:
    """Peak memory in MB while active: CUDA max allocated, else sampled process RSS (/proc/self/statm)."""

    def __init__(self, device: torch.device, interval: float = 0.005) -> None:
        self.device, self.interval, self.peak = device, interval, 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _rss_mb() -> float:
        try:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            import resource
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        import os
        return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss_mb())
            time.sleep(self.interval)

    def __enter__(self) -> "_PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self.peak = self._rss_mb()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device) / 2 ** 20
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self._rss_mb())


def bench_mode(model: Any, image: np.ndarray, clicks: list[Click], mode: str, config: PredictorConfig,
               threads: int | None = None) -> dict[str, Any]:
    """Time every click of `clicks` in `mode` with `config` (a fresh session); returns per-click seconds, the
    session's set-up seconds and stats."""
    from inference.session import SegmentationSession
    device = getattr(model, "device", torch.device("cpu")) if model is not None else torch.device("cpu")
    seconds, evals = [], []
    with _PeakMemory(torch.device(device)) as memory:
        start = time.perf_counter()
        session = SegmentationSession(None if mode == "grabcut" else model, image, mode=mode, config=config,
                                      num_threads=threads)
        setup_s = time.perf_counter() - start
        for click in clicks:
            start = time.perf_counter()
            session.add_click(click)
            if torch.device(device).type == "cuda":
                torch.cuda.synchronize(device)
            seconds.append(time.perf_counter() - start)
            evals.append(session.last_stats["n_objective_evals"])
    return {"mode": mode, "seconds_per_click": seconds, "n_objective_evals": evals,
            "median_s": float(np.median(seconds)), "p90_s": float(np.percentile(seconds, 90)),
            "mean_s": float(np.mean(seconds)), "setup_s": setup_s, "peak_mb": round(memory.peak, 1)}


def load_scene(path: str, size: int, click_list: list | None) -> tuple[np.ndarray, list[Click] | None]:
    """uint8 RGB image from `path` resized (bilinear) so that its longest side is `size`, and the given
    `[[x, y, positive], ...]` clicks scaled with it (None when not given)."""
    import cv2
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}")
    height, width = bgr.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = int(round(width * scale)), int(round(height * scale))
    image = np.ascontiguousarray(cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)[:, :, ::-1])
    clicks = None
    if click_list is not None:
        clicks = [Click(x=min(new_w - 1.0, float(round(x * scale))), y=min(new_h - 1.0, float(round(y * scale))),
                        positive=bool(p)) for x, y, p in click_list]
    return image, clicks


def run_bench(model_name: str, modes: list[str], size: int, n_clicks: int, threads: int | None = None,
              device: str | None = None, preset: str = "app", overrides: Sequence[tuple[str, str]] = (),
              log: Callable[[str], None] = print, image_path: str | None = None, click_list: list | None = None,
              optimise: bool | None = None) -> dict[str, Any]:
    """Load the model (`optimise`: see `model_zoo.load_model`), make the scene and clicks, time every mode with
    the `preset`'s settings and `overrides` ((name, text value) pairs); returns the JSON report."""
    from inference.model_zoo import load_model
    from inference.predictors import MODES
    from inference.predictors.presets import get_preset
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown modes {unknown}; known: {', '.join(MODES)}")
    configs = {mode: get_preset(preset).config(mode, dict(overrides)) for mode in modes}
    model = load_model(model_name, device=device, optimise=optimise)
    bn_fused = not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.net.modules())
    clicks = None
    if image_path is not None:
        image, clicks = load_scene(image_path, size, click_list)
    else:
        image, gt = synthetic_scene(size)
    if clicks is None:
        if image_path is not None:
            raise ValueError("--image needs --click-list")
        with torch_threads(threads):
            clicks = make_clicks(model, image, gt, n_clicks, threads)
    clicks = clicks[:n_clicks]
    log(f"model {model_name} on {model.device}, image {image.shape[1]}x{image.shape[0]}, {n_clicks} clicks, "
        f"torch threads {threads or torch.get_num_threads()}, BN {'fused' if bn_fused else 'not fused'}, "
        f"preset {preset}, overrides {dict(overrides)}")
    results = []
    for mode in modes:
        results.append(bench_mode(model, image, clicks, mode, configs[mode], threads))
        log(f"  {mode}: mean {results[-1]['mean_s']:.3f} s/click")
    reference = next((r["mean_s"] for r in results if r["mode"] == "rgb-brs"), None)
    for r in results:
        r["ratio_to_rgb_brs"] = None if not reference else round(r["mean_s"] / reference, 4)
        r["settings"] = dataclasses.asdict(configs[r["mode"]])
    return {"model": str(model_name), "size": size, "image": image_path or "synthetic", "device": str(model.device),
            "clicks": n_clicks, "threads": threads or torch.get_num_threads(), "bn_fused": bn_fused,
            "preset": preset, "overrides": dict(overrides),
            "click_list": [[c.x, c.y, c.positive] for c in clicks], "modes": results}


def format_table(report: dict[str, Any]) -> str:
    """Markdown table of a report."""
    lines = ["| mode | median s/click | p90 s/click | mean s/click | set-up s | peak MB | × RGB-BRS | evals/click |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["modes"]:
        ratio = "–" if r["ratio_to_rgb_brs"] is None else f"{r['ratio_to_rgb_brs']:.3f}"
        lines.append(f"| {r['mode']} | {r['median_s']:.3f} | {r['p90_s']:.3f} | {r['mean_s']:.3f} | "
                     f"{r['setup_s']:.3f} | "
                     f"{r['peak_mb']:.0f} | {ratio} | {np.mean(r['n_objective_evals']):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="registered model name or checkpoint path")
    parser.add_argument("--modes", default="nobrs,rgb-brs,f-brs-b", help="comma-separated modes")
    parser.add_argument("--size", type=positive_int, default=480, help="longest image side in pixels")
    parser.add_argument("--clicks", type=positive_int, default=10)
    parser.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: unchanged)")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: CUDA when present)")
    add_preset_arguments(parser)
    parser.add_argument("--optimise", choices=("auto", "on", "off"), default="auto",
                        help="fold BatchNorm, channels-last weights on CPU (auto: the network class's default)")
    parser.add_argument("--image", default=None, help="image file instead of the synthetic scene")
    parser.add_argument("--click-list", default=None, help="JSON [[x, y, positive], ...] in --image pixels")
    parser.add_argument("--json", dest="json_out", default=None, help="write the report here")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    try:
        click_list = json.loads(args.click_list) if args.click_list else None
        report = run_bench(args.model, modes, args.size, args.clicks, args.threads, args.device, args.preset,
                           args.overrides, log=lambda s: print(s, file=sys.stderr), image_path=args.image,
                           click_list=click_list, optimise={"auto": None, "on": True, "off": False}[args.optimise])
    except (ValueError, FileNotFoundError, json.JSONDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
