"""Compare the click network's cost on its two ImageNet backbones (MobileNetV2, EfficientNet-Lite0).

    .venv/bin/python scripts/bench_backbones.py [--size 480] [--repeats 15] [--threads 2]

Both networks are built with the default head, loaded with their ImageNet backbone weights (the head is
untrained: timing only) and optimised as the app loads models (BatchNorm folded, channels-last on the CPU).
Timed, alternating between the two networks so that machine noise hits both alike, on an image of
`size` × 2/3·`size` (x, y) with flip averaging (batch 2), as one NoBRS click runs:
  - `forward`: the whole network (one NoBRS click without pre/post-processing);
  - `fbrs_b_eval`: one objective evaluation of f-BRS-B — the tail from `after_aspp` plus the backward pass
    to per-channel scale and bias there (L-BFGS-B makes several per click);
  - `fbrs_b_front`: the front part up to `after_aspp` (paid once per click when the features are refreshed).
Prints medians in milliseconds, the parameter counts and EfficientNet / MobileNetV2 ratios.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Callable

import torch

from inference.networks.fusion import optimise_for_inference
from inference.networks.mobilenet import EFFICIENTNET_REGISTRY_NAME, REGISTRY_NAME
from inference.networks.registry import build

NETWORKS = {"mobilenetv2": REGISTRY_NAME, "efficientnet_lite0": EFFICIENTNET_REGISTRY_NAME}


def _network(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    net = build(name, output_stride=16)
    net.backbone.load_imagenet()
    net.eval()
    optimise_for_inference(net, torch.device("cpu"))
    return net


def _workloads(net: torch.nn.Module, size: int) -> dict[str, Callable[[], None]]:
    width, height = size, round(size * 2 / 3)
    image = torch.rand(2, 4, height, width)
    points = torch.tensor([[[height / 2, width / 2, 0.0], [-1, -1, -1]]] * 2)
    rgb, prev = net.prepare_input(image)
    coord = net.get_coord_features(rgb, prev, points)
    with torch.no_grad():
        feats, extras = net.forward_to_insertion("after_aspp", rgb, coord)
    channels = feats.shape[1]
    scale = torch.ones(1, channels, 1, 1, requires_grad=True)
    bias = torch.zeros(1, channels, 1, 1, requires_grad=True)

    def forward() -> None:
        with torch.no_grad():
            net(image, points)

    def fbrs_b_eval() -> None:
        logits = net.forward_from_insertion("after_aspp", feats * scale + bias, extras)
        torch.sigmoid(logits).mean().backward()

    def fbrs_b_front() -> None:
        with torch.no_grad():
            net.forward_to_insertion("after_aspp", rgb, coord)

    return {"forward": forward, "fbrs_b_eval": fbrs_b_eval, "fbrs_b_front": fbrs_b_front}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=480, help="image width in pixels (height 2/3 of it)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    nets = {key: _network(name) for key, name in NETWORKS.items()}
    work = {key: _workloads(net, args.size) for key, net in nets.items()}
    times: dict[str, dict[str, list[float]]] = {key: {w: [] for w in work[key]} for key in work}
    for key in work:                      # warm-up (oneDNN primitive creation)
        for fn in work[key].values():
            fn()
    for _ in range(args.repeats):
        for workload in ("forward", "fbrs_b_eval", "fbrs_b_front"):
            for key in work:
                t0 = time.perf_counter()
                work[key][workload]()
                times[key][workload].append(time.perf_counter() - t0)
    report = {key: {"params": sum(p.numel() for p in nets[key].parameters()),
                    **{w: round(1000 * statistics.median(v), 1) for w, v in times[key].items()}} for key in work}
    report["ratio_efficientnet_to_mobilenet"] = {
        w: round(report["efficientnet_lite0"][w] / report["mobilenetv2"][w], 2) for w in times["mobilenetv2"]}
    report["settings"] = {"size": args.size, "repeats": args.repeats, "threads": args.threads,
                          "torch": torch.__version__}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
