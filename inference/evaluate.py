"""``python -m inference.evaluate`` — the NoC evaluation command (see docs/results.md).

    python -m inference.evaluate --dataset DIR --model NAME_OR_PATH --mode MODE [--mode MODE ...]
        [--max-clicks 20] [--limit N] [--workers K] [--zoom-in on|off] [--zoom-target PX]
        [--zoom-expansion RATIO] [--zoom-skip-clicks N] [--zoom-min-crop PX]
        [--refine-radius R [--refine-eps EPS] [--refine-feedback]] [--net-clicks-limit auto|none|N]
        [--brs-reg-weight W] [--brs-min-iou-diff D] [--brs-maxfun N]
        [--brs-warm-start on|off] [--brs-prev-mask optimised|network] [--brs-trust-iou T] [--brs-click-radius R]
        [--focus on|off]
        [--tta-scales S[,S...]] --out OUTDIR

Writes OUTDIR/summary.json, samples.jsonl, miou.png and summary.md.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from inference.cli_types import non_negative_int, positive_int, tta_scales, zoom_skip_clicks
from inference.evaluation.datasets import DatasetError, loader_names
from inference.evaluation.runner import MODEL_FREE_MODES, MODES

__all__ = ["build_parser", "main"]


def _on_off(value: str) -> bool:
    lowered = value.lower()
    if lowered not in {"on", "off"}:
        raise argparse.ArgumentTypeError(f"expected on or off, got {value!r}")
    return lowered == "on"


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {value}")
    return number


def _unit_fraction(value: str) -> float:
    number = float(value)
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return number


def _unit_interval(value: str) -> float:
    number = float(value)
    if not 0 < number <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {value}")
    return number


def _clicks_limit(value: str) -> int | None | str:
    lowered = value.lower()
    if lowered in {"auto", "none"}:
        return "auto" if lowered == "auto" else None
    try:
        return positive_int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto, none or an integer ≥ 1, got {value!r}") from None


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
    p.add_argument("--max-clicks", type=positive_int, default=20)
    p.add_argument("--limit", type=positive_int, default=None, help="evaluate only the first N samples")
    p.add_argument("--workers", type=positive_int, default=1, help="worker processes")
    p.add_argument("--zoom-in", type=_on_off, default=True, metavar="on|off",
                   help="ZoomIn(target_size=400, expansion 1.4) as the reference evaluation (default on)")
    p.add_argument("--zoom-target", type=positive_int, default=None, metavar="PX",
                   help="override the ZoomIn target size (longest side of the zoomed crop, pixels)")
    p.add_argument("--zoom-expansion", type=_positive_float, default=None, metavar="RATIO",
                   help="override the ZoomIn expansion ratio around the object's box")
    p.add_argument("--zoom-skip-clicks", type=zoom_skip_clicks, default=None, metavar="N",
                   help="override when ZoomIn starts: the first N clicks see the whole image (reference 1); "
                        "0 also re-predicts the first click zoomed when the object is small (f-BRS); "
                        "-1 zooms from click 2 and resizes the whole image for click 1 (RITM)")
    p.add_argument("--zoom-min-crop", type=positive_int, default=None, metavar="PX",
                   help="override ZoomIn's smallest crop side in image pixels (reference 200)")
    p.add_argument("--refine-radius", type=positive_int, default=None, metavar="R",
                   help="guided-filter the maps with the image, window radius R pixels (default: off)")
    p.add_argument("--refine-eps", type=_positive_float, default=None, metavar="EPS",
                   help="guided-filter regulariser, guide in [0, 1] units (default 1e-3; needs --refine-radius)")
    p.add_argument("--refine-feedback", action="store_true",
                   help="feed the refined map back as the network's previous-mask input (needs --refine-radius)")
    p.add_argument("--refine-net", default=None, metavar="FILE",
                   help="after the guided filter, apply the learnt refiner in this weights file "
                        "(python -m inference.train_refiner; needs --refine-radius)")
    p.add_argument("--net-clicks-limit", type=_clicks_limit, default="auto", metavar="auto|none|N",
                   help="clicks given to the network (auto: the mode's reference default, f-BRS 8, "
                        "RGB/DistMap-BRS 5, NoBRS all; none: all)")
    p.add_argument("--brs-reg-weight", type=_non_negative_float, default=1e-3, metavar="W",
                   help="BRS regulariser weight (reference 1e-3: f-BRS W·(Σs² + 10·Σb²), RGB/DistMap-BRS W·Σx²)")
    p.add_argument("--brs-min-iou-diff", type=_unit_fraction, default=0.01, metavar="D",
                   help="BRS early exit: stop the optimisation once the mask's IoU with the previous "
                        "evaluation's exceeds 1 − D (reference evaluation 0.01, reference demos 1e-3)")
    p.add_argument("--brs-maxfun", type=positive_int, default=20, metavar="N",
                   help="BRS L-BFGS-B objective evaluations per click at most (reference 20; maxiter 2·N)")
    p.add_argument("--brs-warm-start", type=_on_off, default=True, metavar="on|off",
                   help="start each click's BRS optimisation from the previous click's solution (on, the "
                        "reference) or from the identity (off)")
    p.add_argument("--brs-prev-mask", choices=("optimised", "network"), default="optimised",
                   help="BRS modes: the network's next previous-mask input is the optimised map (the "
                        "reference) or the network's own unoptimised prediction for the same clicks")
    p.add_argument("--brs-trust-iou", type=_unit_interval, default=None, metavar="T",
                   help="BRS modes: drop a click's optimisation when the optimised mask's IoU with the "
                        "unoptimised one is below T (default: off, the reference)")
    p.add_argument("--brs-click-radius", type=non_negative_int, default=1, metavar="R",
                   help="BRS modes: the corrective loss covers the (2R+1)² square around each click at "
                        "network-input resolution (reference 1, a 3×3 square; 0: the clicked pixel only)")
    p.add_argument("--focus", type=_on_off, default=False, metavar="on|off",
                   help="focus refinement: re-predict the region each click ≥ 2 changed at a finer resolution "
                        "and blend it in (inference.focus; default off)")
    p.add_argument("--tta-scales", type=tta_scales, default=(), metavar="S[,S...]",
                   help="also run the network on the input resized by each scale and average the logits "
                        "(NoBRS and f-BRS-A/B/C; f-BRS applies the click's optimised scale and bias at each); "
                        "default: off")
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
    overrides = tuple((name, value) for name, value in (("target_size", args.zoom_target),
                                                        ("expansion_ratio", args.zoom_expansion),
                                                        ("skip_clicks", args.zoom_skip_clicks),
                                                        ("min_crop_size", args.zoom_min_crop))
                      if value is not None)
    if overrides and not args.zoom_in:
        parser.error("--zoom-target / --zoom-expansion / --zoom-skip-clicks / --zoom-min-crop need --zoom-in on")
    if args.refine_eps is not None and args.refine_radius is None:
        parser.error("--refine-eps needs --refine-radius")
    if args.refine_feedback and args.refine_radius is None:
        parser.error("--refine-feedback needs --refine-radius")
    if args.refine_feedback and args.brs_prev_mask != "optimised":
        parser.error("--refine-feedback and --brs-prev-mask network both choose the previous-mask input")
    if args.focus and (args.refine_feedback or args.brs_prev_mask != "optimised"):
        parser.error("--focus sets the previous-mask input itself: not with --refine-feedback or "
                     "--brs-prev-mask network")
    if args.refine_net is not None and args.refine_radius is None:
        parser.error("--refine-net needs --refine-radius")
    if args.refine_net is not None:
        from inference.refine_net import load_refiner
        try:
            load_refiner(args.refine_net)
        except (FileNotFoundError, ValueError, RuntimeError) as exc:
            parser.error(f"--refine-net: {exc}")
    from inference.predictors import check_tta_scales_modes
    try:
        check_tta_scales_modes(modes, args.tta_scales)
    except ValueError as exc:
        parser.error(f"--tta-scales: {exc}")
    from inference.refine import GuidedFilterParams
    refine = None if args.refine_radius is None else (
        args.refine_radius, GuidedFilterParams.eps if args.refine_eps is None else args.refine_eps)

    from inference.evaluation import run_evaluation
    from inference.evaluation.report import summary_markdown
    try:
        summaries = run_evaluation(args.dataset, modes, args.model, out_dir=args.out,
                                   max_clicks=args.max_clicks, limit=args.limit, workers=args.workers,
                                   zoom_in=args.zoom_in, zoom_overrides=overrides, early_stop=args.early_stop,
                                   device=args.device, refine=refine, net_clicks_limit=args.net_clicks_limit,
                                   brs_reg_weight=args.brs_reg_weight, brs_min_iou_diff=args.brs_min_iou_diff,
                                   brs_maxfun=args.brs_maxfun, brs_warm_start=args.brs_warm_start,
                                   brs_prev_mask=args.brs_prev_mask, brs_trust_iou=args.brs_trust_iou,
                                   brs_click_radius=args.brs_click_radius, focus=args.focus, tta_scales=args.tta_scales,
                                   refine_feedback=args.refine_feedback, refine_net=args.refine_net,
                                   progress=not args.no_progress, dataset_kind=args.dataset_kind)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - report model loading errors (e.g. MissingWeightsError) briefly
        if type(exc).__name__ == "MissingWeightsError":
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
    print(summary_markdown(summaries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
