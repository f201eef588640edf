"""``python -m inference.evaluate`` — the NoC evaluation command (see docs/results.md).

    python -m inference.evaluate --dataset DIR --model NAME_OR_PATH --mode MODE [--mode MODE ...] --out OUTDIR
        [--preset app|reference] [--set NAME=VALUE ...] [--max-clicks 20] [--limit N] [--workers K]
        [--early-stop] [--device DEV] [--dataset-kind KIND] [--no-progress]

`--preset app` (the default) evaluates with exactly the settings of the live workers, `--preset reference` with
the papers'; `--set` overrides one setting of the preset (`inference.predictors.presets`). Writes
OUTDIR/summary.json, samples.jsonl, miou.png and summary.md.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from inference.evaluation.datasets import DatasetError, loader_names
from inference.evaluation.runner import MODEL_FREE_MODES, MODES
from inference.utils.cli import add_preset_arguments, positive_int

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = argparse.ArgumentParser(prog="python -m inference.evaluate",
                                description="Automatic click evaluation (NoC@80/85/90, NoF, mIoU@k, SPC).")
    p.add_argument("--dataset", required=True, help="data set folder (images/ + masks/, or SBD / VOC)")
    p.add_argument("--dataset-kind", choices=loader_names(), default=None,
                   help="force the data set layout (default: detected)")
    p.add_argument("--model", default=None,
                   help="registered model name ('default' = the app's default) or checkpoint file; "
                        "not needed for --mode grabcut")
    p.add_argument("--mode", action="append", required=True, choices=MODES, dest="modes",
                   help="predictor mode; repeat for several")
    add_preset_arguments(p)
    p.add_argument("--max-clicks", type=positive_int, default=20)
    p.add_argument("--limit", type=positive_int, default=None, help="evaluate only the first N samples")
    p.add_argument("--workers", type=positive_int, default=1, help="worker processes")
    p.add_argument("--early-stop", action="store_true",
                   help="stop each sample at IoU ≥ 0.90 like the reference (faster; mIoU@k beyond the "
                        "stop is then null). Default: run all clicks; NoC is the same either way")
    p.add_argument("--device", default=None, help="torch device (default: CUDA if present, else CPU)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--out", required=True, help="output folder")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the evaluation, write the outputs, print the table; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    modes = list(dict.fromkeys(args.modes))
    if args.model is None and any(m not in MODEL_FREE_MODES for m in modes):
        parser.error("--model is required for modes other than grabcut")

    from inference.evaluation.pipeline import evaluate_to_folder
    from inference.evaluation.report import summary_markdown
    from inference.evaluation.runner import EvalConfig
    from inference.model_zoo import MissingWeightsError
    try:
        config = EvalConfig(dataset_dir=args.dataset, modes=tuple(modes), model=args.model,
                            dataset_kind=args.dataset_kind, max_clicks=args.max_clicks, preset=args.preset,
                            overrides=tuple(args.overrides), early_stop=args.early_stop, device=args.device,
                            limit=args.limit)
    except ValueError as exc:   # settings the preset's own checks refuse, e.g. --set zoom_in.target_size=0
        parser.error(str(exc))
    try:
        summaries = evaluate_to_folder(config, args.out, workers=args.workers, progress=not args.no_progress)
    except (DatasetError, MissingWeightsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary_markdown(summaries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
