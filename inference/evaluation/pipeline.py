"""Run an evaluation and write its outputs (the glue between runner and report)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .report import SampleWriter, write_outputs
from .runner import EvalConfig, run_samples

__all__ = ["evaluate_to_folder"]


def evaluate_to_folder(config: EvalConfig, out_dir: str | Path | None, *, workers: int = 1,
                       progress: bool = True) -> list[dict[str, Any]]:
    """Evaluate ``config``; with ``out_dir``, stream samples.jsonl and write summary.json, miou.png and
    summary.md there. Returns the per-mode summaries."""
    if out_dir is None:
        summaries, _ = run_samples(config, workers=workers, progress=progress)
        return summaries
    out = Path(out_dir)
    writer = SampleWriter(out)
    try:
        summaries, _ = run_samples(config, workers=workers, progress=progress, on_result=writer)
    finally:
        writer.close()
    write_outputs(summaries, out)
    return summaries
