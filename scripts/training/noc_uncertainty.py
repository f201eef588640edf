"""How certain one evaluation run's NoC figures are: per mode, the mean NoC, its standard error and a bootstrap
interval over the samples; per pair of modes, the paired difference on the same samples.

    python scripts/training/noc_uncertainty.py --run var/eval/berkeley [--threshold 0.9] [--max-clicks 20] \
        [--resamples 20000] [--seed 0] [--level 0.95] [--json OUT]

Reads the run's `samples.jsonl` (as `scripts/training/compare_evals.py` does). The bootstrap draws the samples with
replacement `--resamples` times (numpy, seeded) and takes the central `--level` share of the resampled means.
The pair figures are `compare_evals.paired` within the one run: mean difference (second mode − first) ± its
standard error, with how many samples each mode needs fewer clicks on. This is how the model card's "How far
the Berkeley figures are from the bar" was computed.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from compare_evals import load_nocs, paired


def bootstrap_interval(values: Sequence[float], resamples: int = 20000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values` (n ≥ 1): the central `level` share of the means
    of `resamples` draws of n values with replacement (numpy generator seeded with `seed`)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie between 0 and 1, got {level}")
    data = np.asarray(values, dtype=np.float64)
    draws = np.random.default_rng(seed).integers(0, len(data), size=(resamples, len(data)))
    means = data[draws].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def summarise(run_dir: Path, threshold: float = 0.9, max_clicks: int = 20, resamples: int = 20000,
              seed: int = 0, level: float = 0.95) -> dict[str, Any]:
    """{"modes": mode → {n, mean, se, low, high}, "pairs": "second - first" → {first, second} + paired figures} for the run's
    modes (sorted by name; pairs over the samples both modes scored)."""
    nocs = load_nocs(run_dir, threshold, max_clicks)
    modes: dict[str, dict[str, float | int]] = {}
    for mode in sorted(nocs):
        values = list(nocs[mode].values())
        n = len(values)
        mean = sum(values) / n
        se = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n) if n > 1 else float("nan")
        low, high = bootstrap_interval(values, resamples, seed, level)
        modes[mode] = {"n": n, "mean": mean, "se": se, "low": low, "high": high}
    pairs = {}
    for first, second in itertools.combinations(sorted(nocs), 2):
        ids = sorted(set(nocs[first]) & set(nocs[second]))
        pairs[f"{second} - {first}"] = {"first": first, "second": second, **paired(nocs[first], nocs[second], ids)}
    return {"threshold": threshold, "level": level, "resamples": resamples, "seed": seed, "modes": modes,
            "pairs": pairs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, type=Path, help="output folder of one evaluation run")
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--max-clicks", type=int, default=20)
    parser.add_argument("--resamples", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--level", type=float, default=0.95)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.resamples < 1:
        print("error: --resamples must be at least 1", file=sys.stderr)
        return 2
    try:
        result = summarise(args.run, args.threshold, args.max_clicks, args.resamples, args.seed, args.level)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not result["modes"]:
        print(f"error: no samples in {args.run}", file=sys.stderr)
        return 2
    for mode, f in result["modes"].items():
        print(f"{mode:10s} n={f['n']:4d}  NoC@{args.threshold:g} {f['mean']:.2f} ± {f['se']:.2f}"
              f"  {100 * args.level:g} % bootstrap {f['low']:.2f}–{f['high']:.2f}")
    for name, f in result["pairs"].items():
        print(f"{name}: n={f['n']}  paired {f['delta']:+.2f} ± {f['se']:.2f}"
              f"  ({f['second']} needs more clicks on {f['worse']} samples, fewer on {f['better']})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
