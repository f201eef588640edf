"""CLI: `python -m inference.train --config NAME [--resume] [--device cpu|cuda] --out DIR [--data DIR]
[--val-data DIR] [--init CKPT] [--network NAME] [--batch B] [--accum-steps K] [--workers W] [--threads T] [--steps N] [--paste-prob P] [--time-budget-min M] [--val-every-min M]` — trains a click network (see inference/training/)."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from inference.networks.mobilenet import EFFICIENTNET_REGISTRY_NAME, REGISTRY_NAME
from inference.training.configs import CONFIGS, get_config
from inference.training.trainer import Trainer


NETWORKS = (REGISTRY_NAME, EFFICIENTNET_REGISTRY_NAME)   # the networks our trainer builds and initialises


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the training; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m inference.train", description=__doc__)
    parser.add_argument("--config", required=True, choices=sorted(CONFIGS))
    parser.add_argument("--out", required=True, help="run folder (log.jsonl, last.pth, val_step*.pth)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pth")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--data", help="override the dataset folder (images/ + masks/)")
    parser.add_argument("--val-data", help="validate on this images/ + masks/ folder (then all of --data trains)")
    parser.add_argument("--init", help="start from this model checkpoint's weights (fine-tuning)")
    parser.add_argument("--network", choices=sorted(NETWORKS), help="override the network (registry name)")
    parser.add_argument("--batch", type=int, help="override the batch size")
    parser.add_argument("--accum-steps", type=int, help="override the batches accumulated per optimiser step")
    parser.add_argument("--workers", type=int, help="override the number of loader processes (0: in-process)")
    parser.add_argument("--threads", type=int, help="override the torch threads of the training process")
    parser.add_argument("--steps", type=int, help="override the number of steps")
    parser.add_argument("--lr", type=float, help="override the base learning rate (peak of the schedule)")
    parser.add_argument("--paste-prob", type=float, help="override the share of crops with a pasted second object")
    parser.add_argument("--time-budget-min", type=float, help="override the wall-time budget (minutes)")
    parser.add_argument("--val-every-min", type=float,
                        help="override the minutes between validations (0: validate only at the end)")
    args = parser.parse_args(argv)
    overrides = {}
    if args.data:
        overrides["data"] = args.data
    if args.val_data:
        overrides["val_data"] = args.val_data
    if args.init:
        overrides["init_from"] = args.init
    if args.network:
        overrides["network"] = args.network
    if args.threads:
        overrides["torch_threads"] = args.threads
    if args.batch:
        overrides["batch"] = args.batch
    if args.accum_steps:
        overrides["accum_steps"] = args.accum_steps
    if args.workers is not None:
        overrides["workers"] = args.workers
    if args.steps:
        overrides["steps"] = args.steps
    if args.lr:
        overrides["lr"] = args.lr
    if args.time_budget_min is not None:
        overrides["time_budget_min"] = args.time_budget_min or None
    if args.val_every_min is not None:
        if args.val_every_min < 0:
            parser.error("--val-every-min must be >= 0")
        overrides["val_every_min"] = args.val_every_min or None
    cfg = get_config(args.config, **overrides)
    if args.paste_prob is not None:
        cfg = replace(cfg, paste=replace(cfg.paste, prob=args.paste_prob))
    Trainer(cfg, args.out, device=args.device, resume=args.resume).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
