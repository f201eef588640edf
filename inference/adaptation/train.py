"""Fine-tune the project's current model on its training objects with the engine's trainer
(`inference.training.trainer.Trainer`) under a wall-clock budget; the result is an fp16 model file."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch

from inference.adaptation.config import AdaptConfig
from inference.adaptation.control import Cancelled, Control
from inference.networks.checkpoints import load_checkpoint
from inference.networks.mobilenet import EFFICIENTNET_REGISTRY_NAME, REGISTRY_NAME
from inference.training.checkpoint import atomic_save
from inference.training.configs import TrainConfig
from inference.training.data import AugmentConfig
from inference.training.export import export_checkpoint
from inference.training.points import SamplerConfig

__all__ = ["RECIPES", "TRAINABLE_NETWORKS", "TrainOutcome", "recipe_config", "train_candidate"]

TRAINABLE_NETWORKS = (REGISTRY_NAME, EFFICIENTNET_REGISTRY_NAME)
FIT_OBJECTS = 8   # training objects scored at the end of the run (the trainer's validation: how well it fits)


def _adapt(budget_min: float, threads: int) -> TrainConfig:
    """The adaptation recipe: the shipped model's CPU fine-tune (320² crops, RITM's sampler with ≤ 12 + 12 clicks,
    ≤ 3 iterative clicks, BatchNorm frozen, backbone at 0.1× the lr) with single batches of 8, a 5-step warmup
    and a peak lr of 3e-4 (chosen on COCO persons over 1e-4, docs/adaptation.md), so that a 10-minute CPU budget
    makes 100–200 updates; no composites (a project's images have their real neighbours)."""
    return TrainConfig(name="adapt", steps=100000, time_budget_min=budget_min, batch=8, accum_steps=1,
                       freeze_bn=True, lr=3e-4, warmup_steps=5, log_every=5, ckpt_every=10**9, val_every=10**9,
                       val_subset=FIT_OBJECTS, val_long_side=320, torch_threads=threads, workers=0,
                       augment=AugmentConfig(crop=(320, 320)),
                       sampler=SamplerConfig(max_positive=12, max_negative=12, gamma=0.8, slots=16))


def _smoke(budget_min: float, threads: int) -> TrainConfig:
    """Seconds-long rounds for tests: 96² crops, batches of 2, at most 4 steps."""
    return TrainConfig(name="adapt-smoke", steps=4, time_budget_min=budget_min, batch=2, freeze_bn=True, lr=1e-4,
                       warmup_steps=1, log_every=1, ckpt_every=10**9, val_every=10**9, val_subset=2,
                       val_long_side=64, max_next_clicks=1, torch_threads=threads, workers=0,
                       augment=AugmentConfig(crop=(96, 96)),
                       sampler=SamplerConfig(max_positive=3, max_negative=3, slots=5))


RECIPES: dict[str, Callable[[float, int], TrainConfig]] = {"adapt": _adapt, "smoke": _smoke}


def recipe_config(name: str, budget_min: float, threads: int) -> TrainConfig:
    """The TrainConfig of recipe `name`; KeyError listing the known recipes."""
    if name not in RECIPES:
        raise KeyError(f"unknown adaptation recipe {name!r}; known: {sorted(RECIPES)}")
    return RECIPES[name](budget_min, threads)


@dataclass(frozen=True)
class TrainOutcome:
    """The candidate model file, the optimiser steps made, the per-step losses, the training seconds (start-up
    step excluded, as in the trainer's budget) and the fit check (NoC on `FIT_OBJECTS` training objects)."""

    candidate: Path
    steps: int
    losses: list[float]
    seconds: float
    fit: dict


def _start_file(model_path: Path, out: Path) -> tuple[Path, str, dict]:
    """Read the current model with weights-only loading, check the trainer can build its network, and write it
    as the run's `init_from` file; returns (file, network registry name, network params)."""
    payload = torch.load(model_path, map_location="cpu", weights_only=True)
    config = payload.get("config") if isinstance(payload, dict) else None
    if not isinstance(config, dict) or config.get("class") not in TRAINABLE_NETWORKS:
        load_checkpoint(str(model_path))   # a clear CheckpointError for files that are no checkpoint at all
        raise ValueError(f"{model_path.name}: only {', '.join(TRAINABLE_NETWORKS)} networks can be adapted")
    params = dict(config.get("params") or {})
    start = out / "start.pth"
    atomic_save({"state_dict": payload["state_dict"], "config": config, "meta": {}}, start)
    return start, str(config["class"]), params


def train_candidate(*, current_model: Path, train_dir: Path, fit_dir: Path, out_dir: Path, cfg: AdaptConfig,
                    control: Control | None = None,
                    on_step: Callable[[int, float, float], None] | None = None) -> TrainOutcome:
    """Fine-tune `current_model` on `train_dir` (images/ + masks/) for `cfg.budget_min` minutes; the trainer
    scores `fit_dir` at the end. Writes `out_dir/run/` (the trainer's log and last.pth) and
    `out_dir/candidate.pth`. Raises `Cancelled` when `control` says so (between steps)."""
    control = control or Control()
    out_dir.mkdir(parents=True, exist_ok=True)
    start, network, params = _start_file(Path(current_model), out_dir)
    device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    train_cfg = replace(recipe_config(cfg.recipe, cfg.budget_min, cfg.threads), data=str(train_dir),
                        val_data=str(fit_dir), init_from=str(start), network=network, net_params=params,
                        seed=cfg.seed + 1, amp=device == "cuda")
    losses: list[float] = []

    def step(index: int, loss: float, progress: float) -> None:
        losses.append(loss)
        if on_step is not None:
            on_step(index, loss, progress)

    from inference.training.trainer import Trainer
    trainer = Trainer(train_cfg, out_dir / "run", device=device)
    if not trainer.run(should_stop=control.should_stop, on_step=step):
        raise Cancelled("cancelled while training")
    fit = {}
    for line in (out_dir / "run" / "log.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "val" in record:
            fit = {k: v for k, v in record["val"].items() if k in ("noc85", "noc90", "iou1", "n")}
    candidate = export_checkpoint(out_dir / "run" / "last.pth", out_dir / "candidate.pth",
                                  {"adapted_from": Path(current_model).name, "recipe": cfg.recipe,
                                   "budget_min": cfg.budget_min, "fit": fit})
    seconds = trainer.elapsed
    return TrainOutcome(candidate, trainer.step, [v for v in losses if math.isfinite(v)], seconds, fit)
