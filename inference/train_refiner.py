"""CLI for the learnt refiner (`inference.refine_net`), in two steps:

    python -m inference.train_refiner snapshots --data DIR [--data DIR ...] --out SNAPDIR [--limit N]
        [--mode nobrs --mode f-brs-b] [--max-clicks 10] [--per-image 2] [--workers 2] [--seed 0]
    python -m inference.train_refiner train --snapshots SNAPDIR --out FILE.pth [--minutes 30] [--max-steps N]
        [--crop 128] [--batch 16] [--lr 1e-3] [--threads 2]

`snapshots` runs click trajectories of the default model on images/ + masks/ folders of TRAINING images
(never GrabCut or Berkeley) and writes one npz per image (`inference.training.refiner_data`); each image gets
one of the given modes in turn. `train` fits a `RefinerNet` on them and saves its weights, with the loss log
beside them as FILE.log.jsonl.
"""
from __future__ import annotations

import argparse
import functools
import multiprocessing
import sys
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.evaluation.datasets import open_dataset

PROG = "python -m inference.train_refiner"
_STATE: dict[str, Any] = {}


def _init_worker(model: str, threads: int) -> None:
    from inference.model_zoo import load_model
    torch.set_num_threads(threads)
    _STATE["model"] = load_model(model, device="cpu")


@functools.lru_cache(maxsize=None)
def _dataset(folder: str) -> Any:
    return open_dataset(folder)


def _run_one(task: tuple[str, int, str, Any, int, str]) -> str:
    from inference.training.refiner_data import trajectory_snapshots, write_snapshots
    folder, index, mode, plan, seed, out = task
    sample = _dataset(folder)[index]
    target = Path(out) / f"{Path(folder).name}__{sample.sample_id}.npz"
    if target.exists():
        return "skipped"
    rng = np.random.default_rng([seed, index, zlib.crc32(Path(folder).name.encode())])
    snapshots = trajectory_snapshots(_STATE["model"], sample, replace(plan, mode=mode), rng)
    write_snapshots(target, sample, snapshots)
    return "written"


def _snapshots(args: argparse.Namespace) -> int:
    from inference.training.refiner_data import SnapshotPlan
    modes = args.mode or ["nobrs"]
    plan = SnapshotPlan(max_clicks=args.max_clicks, per_image=args.per_image)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = []
    for folder in args.data:
        n = len(open_dataset(folder))
        order = np.random.default_rng(args.seed).permutation(n)[: args.limit or n]
        tasks += [(folder, int(i), modes[k % len(modes)], plan, args.seed, str(out)) for k, i in enumerate(order)]
    order = np.random.default_rng(args.seed).permutation(len(tasks))   # folders interleaved: a stopped run is a mix
    tasks = [tasks[i] for i in order]
    done = 0
    with multiprocessing.get_context("spawn").Pool(args.workers, _init_worker, (args.model, 1)) as pool:
        for _ in pool.imap_unordered(_run_one, tasks):
            done += 1
            if done % 100 == 0 or done == len(tasks):
                print(f"{done}/{len(tasks)} images", flush=True)
    return 0


def _train(args: argparse.Namespace) -> int:
    from inference.training.refiner_data import read_snapshots
    from inference.training.refiner_train import RefinerTrainConfig, jsonl_logger, train_refiner
    files = sorted(Path(args.snapshots).glob("*.npz"))
    if not files:
        print(f"{PROG}: no snapshots (*.npz) in {args.snapshots}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    snapshots = [s for f in files for s in read_snapshots(f)]
    cfg = RefinerTrainConfig(crop=args.crop, batch=args.batch, lr=args.lr, minutes=args.minutes,
                             max_steps=args.max_steps, seed=args.seed)
    out = Path(args.out)
    print(f"{len(snapshots)} snapshots from {len(files)} images", flush=True)
    train_refiner(snapshots, cfg, out, jsonl_logger(out.with_suffix(".log.jsonl")))
    print(f"saved {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the sub-command; returns the exit status."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshots", help="click trajectories → training snapshots")
    snap.add_argument("--data", action="append", required=True, help="images/ + masks/ folder (training images)")
    snap.add_argument("--out", required=True)
    snap.add_argument("--model", default="default")
    snap.add_argument("--mode", action="append", choices=["nobrs", "f-brs-b"])
    snap.add_argument("--limit", type=int, help="images per folder (a seeded random subset)")
    snap.add_argument("--max-clicks", type=int, default=10)
    snap.add_argument("--per-image", type=int, default=2)
    snap.add_argument("--workers", type=int, default=2)
    snap.add_argument("--seed", type=int, default=0)
    train = commands.add_parser("train", help="fit the refiner on snapshots")
    train.add_argument("--snapshots", required=True)
    train.add_argument("--out", required=True)
    train.add_argument("--minutes", type=float, default=30.0)
    train.add_argument("--max-steps", type=int)
    train.add_argument("--crop", type=int, default=128)
    train.add_argument("--batch", type=int, default=16)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--threads", type=int, default=2)
    train.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("limit", "max_clicks", "per_image", "workers", "max_steps", "crop", "batch", "threads"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be ≥ 1, got {value}")
    if getattr(args, "minutes", 1) <= 0 or getattr(args, "lr", 1) <= 0:
        parser.error("--minutes and --lr must be positive")
    return _snapshots(args) if args.command == "snapshots" else _train(args)


if __name__ == "__main__":
    sys.exit(main())
