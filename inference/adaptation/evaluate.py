"""NoC figures of one model on the held-out objects: the evaluation library behind `python -m inference.evaluate`
(`EvalConfig` + `run_samples`), at the app's live settings, one object at a time so that a cancel is seen
between objects."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from inference.adaptation.config import AdaptConfig
from inference.adaptation.control import Control
from inference.evaluation.metrics import noc
from inference.evaluation.runner import EvalConfig, SampleResult, run_samples

__all__ = ["Figures", "evaluate_model"]


@dataclass(frozen=True)
class Figures:
    """Mean NoC@85 / NoC@90, failures at 0.85 / 0.90 (objects that needed all `max_clicks`), the mIoU after
    clicks 1..max_clicks (None past an early stop), the per-object NoC@90 by object id, and the summary of
    the evaluation library."""

    noc85: float
    noc90: float
    nof85: int
    nof90: int
    n: int
    miou_curve: list[float | None]
    per_object_noc90: dict[str, int]
    per_object_noc85: dict[str, int]
    seconds: float
    summary: dict[str, Any] = field(repr=False, default_factory=dict)

    def headline(self) -> dict[str, float | int]:
        """{"noc85", "noc90", "nof85", "nof90", "n"}."""
        return {"noc85": round(self.noc85, 3), "noc90": round(self.noc90, 3), "nof85": self.nof85,
                "nof90": self.nof90, "n": self.n}

    def to_json(self) -> dict[str, Any]:
        """The headline, the mIoU curve and the per-object NoC (no library summary)."""
        return {**self.headline(), "miou_curve": self.miou_curve, "per_object_noc85": self.per_object_noc85,
                "per_object_noc90": self.per_object_noc90, "seconds": round(self.seconds, 1)}


def evaluate_model(*, model: str | Path, heldout_dir: Path, cfg: AdaptConfig, control: Control | None = None,
                   on_object: Callable[[int, int], None] | None = None) -> Figures:
    """Evaluate `model` (a checkpoint path or registered name) on the folder `heldout_dir` in `cfg.mode` under
    preset `cfg.preset`. `on_object(done, total)` follows the objects; `control.check()` runs after each."""
    control = control or Control()
    config = EvalConfig(dataset_dir=str(heldout_dir), modes=(cfg.mode,), model=str(model), preset=cfg.preset,
                        max_clicks=cfg.max_clicks, early_stop=cfg.early_stop, device=cfg.device)
    total = len(list((heldout_dir / "masks").glob("*.png")))
    done = [0]

    def seen(_: SampleResult) -> None:
        done[0] += 1
        if on_object is not None:
            on_object(done[0], total)
        control.check()

    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        summaries, results = run_samples(config, workers=1, progress=False, on_result=seen)
    finally:
        torch.set_num_threads(threads)
    summary = summaries[0]
    ious = {r.sample_id: r.ious for r in results}
    return Figures(noc85=float(summary["noc"]["85"]), noc90=float(summary["noc"]["90"]),
                   nof85=int(summary["nof"]["85"]), nof90=int(summary["nof"]["90"]), n=int(summary["n"]),
                   miou_curve=list(summary["miou_curve"]),
                   per_object_noc90={k: noc(v, 0.90, cfg.max_clicks) for k, v in ious.items()},
                   per_object_noc85={k: noc(v, 0.85, cfg.max_clicks) for k, v in ious.items()},
                   seconds=float(summary["wall_seconds_run"]), summary=summary)
