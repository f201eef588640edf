"""Paired per-image comparison of two runs of the evaluation command on the same images.

    python scripts/training/compare_evals.py --base var/eval/shipped_val --candidate var/eval/leg_val \
        [--targets data/duts_val_paste/targets.json] [--threshold 0.9] [--max-clicks 20] [--json OUT]

Reads each run's `samples.jsonl` (one object per sample and mode: `id`, `mode`, `ious`) and prints, per mode
both runs hold: the images both scored, each run's NoC at the threshold, the mean per-image difference
(candidate − base) with its standard error, and how many images got better and worse. With `--targets`
(the `targets.json` that `scripts/training/make_composite_val.py` writes: id → "base" | "pasted") the same figures are
given per target kind as well. This is how the model card's "paired" columns are computed.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from inference.evaluation.metrics import noc  # noqa: E402
from inference.evaluation.report import SAMPLES_JSONL  # noqa: E402


def load_nocs(run_dir: Path, threshold: float, max_clicks: int) -> dict[str, dict[str, int]]:
    """mode → sample id → NoC at `threshold` from `run_dir/samples.jsonl`; FileNotFoundError names the file."""
    path = run_dir / SAMPLES_JSONL
    if not path.is_file():
        raise FileNotFoundError(f"no {SAMPLES_JSONL} in {run_dir}")
    by_mode: dict[str, dict[str, int]] = defaultdict(dict)
    with open(path) as fh:
        for line in fh:
            if line.strip():
                record = json.loads(line)
                by_mode[record["mode"]][str(record["id"])] = noc(record["ious"], threshold, max_clicks)
    return dict(by_mode)


def paired(base: dict[str, int], candidate: dict[str, int], ids: list[str]) -> dict[str, float | int]:
    """Figures over `ids` (present in both): n, base and candidate mean NoC, mean difference and its standard
    error, images better (fewer clicks) and worse."""
    diffs = [candidate[i] - base[i] for i in ids]
    n = len(diffs)
    if n == 0:
        return {"n": 0}
    mean = sum(diffs) / n
    se = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1) / n) if n > 1 else float("nan")
    return {"n": n, "base": sum(base[i] for i in ids) / n, "candidate": sum(candidate[i] for i in ids) / n,
            "delta": mean, "se": se, "better": sum(d < 0 for d in diffs), "worse": sum(d > 0 for d in diffs)}


def compare(base_dir: Path, candidate_dir: Path, threshold: float = 0.9, max_clicks: int = 20,
            targets: dict[str, str] | None = None) -> dict[str, dict[str, dict[str, float | int]]]:
    """mode → group ("all", then each target kind) → `paired` figures, for the modes both runs hold."""
    base, candidate = load_nocs(base_dir, threshold, max_clicks), load_nocs(candidate_dir, threshold, max_clicks)
    result: dict[str, dict[str, dict[str, float | int]]] = {}
    for mode in sorted(set(base) & set(candidate)):
        ids = sorted(set(base[mode]) & set(candidate[mode]))
        groups = {"all": ids}
        for kind in sorted(set((targets or {}).values())):
            groups[kind] = [i for i in ids if targets.get(i) == kind]
        result[mode] = {name: paired(base[mode], candidate[mode], members) for name, members in groups.items()}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, type=Path, help="output folder of the reference run")
    parser.add_argument("--candidate", required=True, type=Path, help="output folder of the run compared with it")
    parser.add_argument("--targets", type=Path, help="targets.json of a composite set (id → base | pasted)")
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--max-clicks", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    try:
        targets = json.loads(args.targets.read_text()) if args.targets else None
        result = compare(args.base, args.candidate, args.threshold, args.max_clicks, targets)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not result:
        print("error: the two runs share no mode", file=sys.stderr)
        return 2
    for mode, groups in result.items():
        for name, f in groups.items():
            if not f["n"]:
                continue
            print(f"{mode:10s} {name:7s} n={f['n']:4d}  NoC@{args.threshold:g} {f['base']:.2f} -> {f['candidate']:.2f}"
                  f"  paired {f['delta']:+.2f} ± {f['se']:.2f}  better {f['better']}, worse {f['worse']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
