"""Score checkpoints on validation folders with the trainer's quick protocol, per image, for paired comparisons.

    PYTHONPATH=. python scripts/training/rescore_val.py --model inference/weights/clicklabel_default.pth \
        --model runs/cpu-paste/val_step500.pth --data data/duts_val_orig --data data/duts_val_paste \
        --out runs/cpu-paste/rescore.json [--threads 2]

Protocol (`inference.training.validation`): NoBRS, no flip, no zoom-in, images at long side `--long-side`,
≤ 20 automatic clicks. Prints NoC@85 / NoC@90 / IoU@1 per (model, folder) and, for every model after the
first, the paired NoC@90 difference against the first (mean ± standard error over images). Writes all
per-image values to `--out` (JSON: a list, one entry per model). Only for held-out training images: never GrabCut or Berkeley.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from inference.networks.checkpoints import load_checkpoint  # noqa: E402
from inference.training.data import list_pairs  # noqa: E402
from inference.training.validation import score_pairs  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="checkpoint; the first is the reference")
    parser.add_argument("--data", action="append", required=True, help="images/ + masks/ folder")
    parser.add_argument("--long-side", type=int, default=320)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results: list[dict] = []   # one {"model", "scores": {folder: per-image lists}} per --model, in order
    for model in args.model:
        net = load_checkpoint(model).eval()
        scores = {folder: score_pairs(net, list_pairs(folder), args.long_side) for folder in args.data}
        results.append({"model": model, "scores": scores})
        for folder, s in scores.items():
            line = (f"{model} | {folder} | n {len(s['noc90'])} | NoC@85 {np.mean(s['noc85']):.2f} | "
                    f"NoC@90 {np.mean(s['noc90']):.2f} | IoU@1 {np.mean(s['iou1']):.3f}")
            reference = results[0]["scores"][folder]
            if len(results) > 1 and reference["id"] == s["id"]:
                diff = np.asarray(s["noc90"]) - np.asarray(reference["noc90"])
                line += f" | paired ΔNoC@90 {diff.mean():+.2f} ± {diff.std(ddof=1) / np.sqrt(diff.size):.2f}"
            print(line, flush=True)
        Path(args.out).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
