"""Weight interpolation between two checkpoints of one network (WiSE-FT, Wortsman et al. 2022).

    PYTHONPATH=. python -m inference.training.interpolate --start inference/weights/clicklabel_default.pth \
        --tuned runs/cpu-orig/val_step000304.pth --alpha 0.5 --out runs/cpu-orig/interp.pth

The result is `(1 - alpha) · start + alpha · tuned`, tensor by tensor, in the engine's checkpoint format
(`{"state_dict", "config", "meta"}`), so `scripts/rescore_val.py` and `inference.evaluate` load it as any
other model. Only meaningful for a fine-tune of `start` (same architecture, same parameters).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from inference.training.checkpoint import atomic_save, load_payload


def interpolate_state_dicts(start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor],
                            alpha: float) -> dict[str, torch.Tensor]:
    """`(1 - alpha) · start + alpha · tuned` for every floating tensor, computed in float32 and stored in
    the dtype of `tuned`; integer tensors (BatchNorm's `num_batches_tracked`) are taken from `tuned`.

    Raises ValueError if the key sets or any tensor shape differ, or alpha is outside [0, 1]."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if start.keys() != tuned.keys():
        differing = sorted(set(start) ^ set(tuned))
        raise ValueError(f"the checkpoints hold different tensors, e.g. {differing[:5]}")
    mixed: dict[str, torch.Tensor] = {}
    for key, tuned_tensor in tuned.items():
        start_tensor = start[key]
        if start_tensor.shape != tuned_tensor.shape:
            raise ValueError(f"{key}: shape {tuple(start_tensor.shape)} vs {tuple(tuned_tensor.shape)}")
        if not tuned_tensor.is_floating_point():
            mixed[key] = tuned_tensor.clone()
            continue
        value = (1.0 - alpha) * start_tensor.float() + alpha * tuned_tensor.float()
        mixed[key] = value.to(tuned_tensor.dtype)
    return mixed


def interpolate_checkpoints(start: str | Path, tuned: str | Path, alpha: float, out: str | Path) -> Path:
    """Write the interpolated checkpoint to `out`; ValueError if the two networks' configs differ."""
    start_payload, tuned_payload = load_payload(start), load_payload(tuned)
    if start_payload["config"] != tuned_payload["config"]:
        raise ValueError(f"different networks: {start_payload['config']} vs {tuned_payload['config']}")
    meta: dict[str, Any] = {"interpolated": {"start": str(start), "tuned": str(tuned), "alpha": alpha,
                                             "start_meta": start_payload.get("meta", {}),
                                             "tuned_meta": tuned_payload.get("meta", {})}}
    payload = {"state_dict": interpolate_state_dicts(start_payload["state_dict"], tuned_payload["state_dict"],
                                                     alpha),
               "config": tuned_payload["config"], "meta": meta}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(payload, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", required=True, help="the model the fine-tune started from")
    parser.add_argument("--tuned", required=True, help="a checkpoint of the fine-tune")
    parser.add_argument("--alpha", type=float, default=0.5, help="weight of --tuned (0: start, 1: tuned)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        out = interpolate_checkpoints(args.start, args.tuned, args.alpha, args.out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
