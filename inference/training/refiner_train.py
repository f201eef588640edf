"""Train the learnt refiner (`inference.refine_net.RefinerNet`) on trajectory snapshots (`refiner_data`).

Batches are crops of `crop`² pixels around where the refiner matters: a point on the object's boundary
(`p_boundary`), a pixel the guided-filter map gets wrong (`p_error`), or anywhere; horizontally flipped at
random. Loss: binary cross-entropy of the refined logit against the object mask, ignore pixels left out.
Adam with a cosine schedule over a wall-clock budget; the log reports the same loss for the guided-filter map
alone on each batch, so the gain the residual brings is visible while it trains.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from inference.clicks import Click
from inference.refine_net import LOGIT_SCALE, RefinerNet, normalise_image, refiner_inputs, save_refiner

__all__ = ["RefinerTrainConfig", "crop_example", "make_batch", "train_refiner"]


@dataclass(frozen=True)
class RefinerTrainConfig:
    """Training settings (sizes in image pixels)."""

    crop: int = 128
    batch: int = 16
    lr: float = 1e-3
    final_lr_fraction: float = 0.02
    minutes: float = 30.0
    max_steps: int | None = None
    p_boundary: float = 0.5
    p_error: float = 0.3
    width: int = 16
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1)
    log_every: int = 50
    seed: int = 0


def _boundary(mask: np.ndarray) -> np.ndarray:
    """bool (H, W): pixels of `mask` with a 4-neighbour outside it (and vice versa)."""
    m = mask.astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    return (cv2.dilate(m, kernel) != cv2.erode(m, kernel))


def _pick_centre(snapshot: dict[str, Any], cfg: RefinerTrainConfig, rng: np.random.Generator) -> tuple[int, int]:
    """(x, y) centre of the next crop (candidate pixels from `prepare`)."""
    height, width = snapshot["gt"].shape
    draw = rng.random()
    if draw < cfg.p_boundary:
        candidates = snapshot["boundary_yx"]
    elif draw < cfg.p_boundary + cfg.p_error:
        candidates = snapshot["error_yx"]
    else:
        candidates = None
    if candidates is not None:
        ys, xs = candidates
        if len(xs):
            i = int(rng.integers(len(xs)))
            return int(xs[i]), int(ys[i])
    return int(rng.integers(width)), int(rng.integers(height))


def crop_example(snapshot: dict[str, Any], centre: tuple[int, int], size: int,
                 flip: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs (7, s, s), target (1, s, s) 0/1, weight (1, s, s)) for the crop of `size` centred at (x, y);
    parts outside the image are zero-weighted padding."""
    height, width = snapshot["gt"].shape
    x0, y0 = centre[0] - size // 2, centre[1] - size // 2
    xs0, ys0, xs1, ys1 = max(x0, 0), max(y0, 0), min(x0 + size, width), min(y0 + size, height)
    pad = ((ys0 - y0, y0 + size - ys1), (xs0 - x0, x0 + size - xs1))

    def cut(array: np.ndarray, value: float = 0.0) -> np.ndarray:
        part = array[..., ys0:ys1, xs0:xs1]
        return np.pad(part, [(0, 0)] * (array.ndim - 2) + list(pad), constant_values=value)

    image = cut(snapshot["norm_image"])
    raw, guided = cut(snapshot["raw"]), cut(snapshot["guided"])
    target = cut(snapshot["gt"].astype(np.float32))
    weight = cut((~snapshot["ignore"]).astype(np.float32))
    clicks: Sequence[Click] = [c.moved(c.x - x0, c.y - y0) for c in snapshot["clicks"]]
    if flip:
        image, raw, guided = image[..., ::-1], raw[:, ::-1], guided[:, ::-1]
        target, weight = target[:, ::-1], weight[:, ::-1]
        clicks = [c.moved(size - 1 - c.x, c.y) for c in clicks]
    inputs = refiner_inputs(np.ascontiguousarray(image), np.ascontiguousarray(raw),
                            np.ascontiguousarray(guided), clicks)[0]
    return inputs, torch.from_numpy(target.copy())[None], torch.from_numpy(weight.copy())[None]


def make_batch(snapshots: Sequence[dict[str, Any]], cfg: RefinerTrainConfig,
               rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of `cfg.batch` random crops: inputs (B, 7, s, s), targets and weights (B, 1, s, s)."""
    parts = []
    for _ in range(cfg.batch):
        snapshot = snapshots[int(rng.integers(len(snapshots)))]
        parts.append(crop_example(snapshot, _pick_centre(snapshot, cfg, rng), cfg.crop, bool(rng.random() < 0.5)))
    return tuple(torch.stack(items) for items in zip(*parts))  # type: ignore[return-value]


def _loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (per_pixel * weight).sum() / weight.sum().clamp_min(1.0)


def _pixels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs) int32 coordinates of a bool mask's True pixels, in `np.nonzero` order."""
    return tuple(axis.astype(np.int32) for axis in np.nonzero(mask))  # type: ignore[return-value]


def prepare(snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add what the batches draw from, computed once: each snapshot's normalised image and object-boundary
    pixels (both shared by the snapshots of one image), and the pixels its guided-filter map gets wrong."""
    images: dict[int, np.ndarray] = {}
    boundaries: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for snapshot in snapshots:
        image_key, gt_key = id(snapshot["image"]), id(snapshot["gt"])
        if image_key not in images:
            images[image_key] = normalise_image(snapshot["image"])
        if gt_key not in boundaries:
            boundaries[gt_key] = _pixels(_boundary(snapshot["gt"]))
        snapshot["norm_image"], snapshot["boundary_yx"] = images[image_key], boundaries[gt_key]
        snapshot["error_yx"] = _pixels(((snapshot["guided"] > 0.49) != snapshot["gt"]) & ~snapshot["ignore"])
    return snapshots


def train_refiner(snapshots: list[dict[str, Any]], cfg: RefinerTrainConfig, out: Path,
                  log: Callable[[dict[str, Any]], None] | None = None) -> RefinerNet:
    """Train a `RefinerNet` on `snapshots` (from `refiner_data.read_snapshots`) and save it to `out`
    (`save_refiner`, with the config and the loss history in `meta`). Returns the trained network."""
    if not snapshots:
        raise ValueError("no training snapshots")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    prepare(snapshots)
    net = RefinerNet(cfg.width, cfg.dilations).train()
    optimiser = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    start, step, history = time.perf_counter(), 0, []
    running = {"loss": 0.0, "guided_loss": 0.0, "n": 0}
    budget = cfg.minutes * 60
    while True:
        elapsed = time.perf_counter() - start
        progress = max(elapsed / budget, step / cfg.max_steps if cfg.max_steps else 0.0)
        if progress >= 1.0:
            break
        lr = cfg.lr * (cfg.final_lr_fraction + (1 - cfg.final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress)))
        for group in optimiser.param_groups:
            group["lr"] = lr
        inputs, target, weight = make_batch(snapshots, cfg, rng)
        logits = net(inputs)
        loss = _loss(logits, target, weight)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step += 1
        with torch.no_grad():
            guided_loss = _loss(inputs[:, 4:5] * LOGIT_SCALE, target, weight)
        running["loss"] += float(loss.detach())
        running["guided_loss"] += float(guided_loss)
        running["n"] += 1
        if step % cfg.log_every == 0:
            entry = {"step": step, "seconds": round(time.perf_counter() - start, 1), "lr": lr,
                     "loss": running["loss"] / running["n"], "guided_loss": running["guided_loss"] / running["n"]}
            history.append(entry)
            running = {"loss": 0.0, "guided_loss": 0.0, "n": 0}
            if log is not None:
                log(entry)
    net.eval()
    meta = {"steps": step, "seconds": round(time.perf_counter() - start, 1), "snapshots": len(snapshots),
            "train_config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()},
            "history": history}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_refiner(net, out, meta)
    return net


def jsonl_logger(path: Path) -> Callable[[dict[str, Any]], None]:
    """A log callback appending JSON lines to `path` and printing a short line."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(entry: dict[str, Any]) -> None:
        with path.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")
        print(f"step {entry['step']} {entry['seconds']:.0f}s lr {entry['lr']:.2e} loss {entry['loss']:.4f} "
              f"(guided alone {entry['guided_loss']:.4f})", flush=True)
    return log
