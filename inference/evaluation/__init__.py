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
                   out_dir: str | None = None, workers: int = 1, progress: bool = True,
                   **settings: Any) -> list[dict[str, Any]]:
    """Evaluate ``modes`` of ``model`` on the data set folder ``dataset``; returns the per-mode
    summaries (the content of summary.json) and, when ``out_dir`` is given, writes all outputs there.

    ``settings``: any other `EvalConfig` field (max_clicks, limit, preset, overrides, early_stop, device,
    dataset_kind); an unknown name raises TypeError.
    """
    from .pipeline import evaluate_to_folder
    config = EvalConfig(dataset_dir=str(dataset), modes=tuple(modes), model=model, **settings)
    return evaluate_to_folder(config, out_dir, workers=workers, progress=progress)
