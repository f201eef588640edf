"""Automatic evaluation (NoC protocol, spec §4) driving the app's own SegmentationSession objects.

Modules: ``clicker`` (next automatic click), ``metrics`` (IoU, NoC, NoF, mIoU), ``datasets`` (loaders
registry), ``runner`` (sessions × samples, worker processes), ``report`` (summary.json, samples.jsonl,
miou.png, summary.md, papers' table). CLI: ``python -m inference.evaluate``.
"""
from __future__ import annotations

from typing import Any

from .runner import MODES, EvalConfig, SampleResult, evaluate_sample

__all__ = ["MODES", "EvalConfig", "SampleResult", "evaluate_sample", "run_evaluation"]


def run_evaluation(dataset: str, modes: list[str] | tuple[str, ...], model: str | None = None, *,
                   out_dir: str | None = None, max_clicks: int = 20, limit: int | None = None,
                   workers: int = 1, zoom_in: bool = True,
                   zoom_overrides: tuple[tuple[str, float], ...] = (), early_stop: bool = False,
                   device: str | None = None, progress: bool = True,
                   dataset_kind: str | None = None,
                   refine: tuple[int, float] | None = None,
                   net_clicks_limit: int | None | str = "auto",
                   brs_reg_weight: float = 1e-3, brs_min_iou_diff: float = 0.01,
                   brs_maxfun: int = 20, brs_warm_start: bool = True,
                   refine_feedback: bool = False) -> list[dict[str, Any]]:
    """Evaluate ``modes`` of ``model`` on the data set folder ``dataset``; returns the per-mode
    summaries (the content of summary.json) and, when ``out_dir`` is given, writes all outputs there."""
    from .pipeline import evaluate_to_folder
    config = EvalConfig(dataset_dir=str(dataset), modes=tuple(modes), model=model, max_clicks=max_clicks,
                        zoom_in=zoom_in, zoom_overrides=tuple(zoom_overrides), early_stop=early_stop,
                        device=device, limit=limit,
                        dataset_kind=dataset_kind, refine=refine, net_clicks_limit=net_clicks_limit,
                        brs_reg_weight=brs_reg_weight, brs_min_iou_diff=brs_min_iou_diff,
                        brs_maxfun=brs_maxfun, brs_warm_start=brs_warm_start,
                        refine_feedback=refine_feedback)
    return evaluate_to_folder(config, out_dir, workers=workers, progress=progress)
