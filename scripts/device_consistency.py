"""CPU vs CUDA: the same model, image and clicks in every mode; prints max |Δp| and mask IoU per click.

    python scripts/device_consistency.py --model PATH_OR_NAME [--size 480] [--clicks 5] [--json OUT]

Run on a machine with CUDA (the device machine). NoBRS should agree to float noise; the BRS modes run an
L-BFGS optimisation whose path may drift, so their masks (p > 0.49) are compared by IoU.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from inference.bench import make_clicks, synthetic_scene  # noqa: E402
from inference.model_zoo import load_model  # noqa: E402
from inference.session import SegmentationSession  # noqa: E402
from inference.training.validation import iou  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--modes", default="nobrs,rgb-brs,distmap-brs,f-brs-a,f-brs-b,f-brs-c")
    parser.add_argument("--other-device", default="cuda", help="compared with the CPU (cpu: a dry run)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    if args.other_device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 2
    image, gt = synthetic_scene(args.size)
    cpu_model = load_model(args.model, device="cpu")
    cuda_model = load_model(args.model, device=args.other_device)
    clicks = make_clicks(cpu_model, image, gt, args.clicks)
    name = torch.cuda.get_device_name(0) if args.other_device.startswith("cuda") else args.other_device
    report = {"model": args.model, "device": name, "modes": []}
    for mode in args.modes.split(","):
        sessions = [SegmentationSession(m, image, mode=mode) for m in (cpu_model, cuda_model)]
        rows = []
        for click in clicks:
            p_cpu, p_cuda = (s.add_click(click) for s in sessions)
            rows.append({"max_abs_dp": float(np.abs(p_cpu - p_cuda).max()),
                         "iou": iou(p_cpu > 0.49, p_cuda > 0.49, np.zeros(p_cpu.shape, bool))})
        report["modes"].append({"mode": mode, "clicks": rows})
        print(f"{mode:12s} max|dp| per click: " + " ".join(f"{r['max_abs_dp']:.1e}" for r in rows)
              + " | IoU: " + " ".join(f"{r['iou']:.3f}" for r in rows), flush=True)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
