"""Training snapshots for the learnt refiner (`inference.refine_net`): raw maps of simulated click trajectories.

For one training image, a `SegmentationSession` (unrefined, the live workers' predictor settings otherwise) is
driven by the evaluation's automatic clicker; the next click is chosen from the guided-filter map, as the live
workers return it. At a few random steps of the trajectory the snapshot (clicks so far, raw map, guided-filter
map) is kept. Written per image as `OUT/<id>.npz` with:
    image uint8 (H, W, 3) RGB;  gt uint8 (H, W) 0 / 1;  ignore uint8 (H, W) 0 / 1;
    raw, guided float16 (S, H, W) probabilities;  clicks float32 (S, K, 3) rows (x, y, positive),
    padded with NaN rows;  steps int16 (S,) clicks made at each snapshot.
Never run on GrabCut or Berkeley: snapshots are training data.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.clicks import Click
from inference.evaluation.clicker import AutoClicker
from inference.evaluation.datasets import Sample
from inference.predictors import PredictorConfig
from inference.refine import GuidedFilterParams, GuidedRefiner
from inference.session import SegmentationSession

__all__ = ["SnapshotPlan", "trajectory_snapshots", "write_snapshots", "read_snapshots"]


@dataclass(frozen=True)
class SnapshotPlan:
    """How one trajectory is sampled: `mode`, clicks in [1, max_clicks] (uniform), `per_image` snapshot steps
    drawn without replacement among them, and the guided filter that picks the next click."""

    mode: str = "nobrs"
    max_clicks: int = 10
    per_image: int = 2
    guided: GuidedFilterParams = GuidedFilterParams(radius=4, eps=1e-3)


def _session_config(mode: str) -> PredictorConfig:
    """The live workers' predictor settings for `mode`, without any refinement."""
    if mode == "f-brs-b":
        return PredictorConfig(net_clicks_limit=None, brs_warm_start=False)
    return PredictorConfig()


def trajectory_snapshots(model: Any, sample: Sample, plan: SnapshotPlan,
                         rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Run one trajectory on `sample` and return the arrays described in the module doc (without image/gt)."""
    n_clicks = int(rng.integers(1, plan.max_clicks + 1))
    keep = set(rng.choice(np.arange(1, n_clicks + 1), size=min(plan.per_image, n_clicks), replace=False).tolist())
    session = SegmentationSession(model, sample.image, plan.mode, config=_session_config(plan.mode))
    guide = GuidedRefiner(sample.image, plan.guided)
    clicker = AutoClicker(sample.gt, sample.ignore)
    guided = np.zeros(sample.gt.shape, dtype=np.float32)
    raws, guideds, clicks, steps = [], [], [], []
    for step in range(1, n_clicks + 1):
        raw = session.add_click(clicker.next(guided > 0.49))
        guided = guide.refine(raw)
        if step in keep:
            raws.append(raw.astype(np.float16))
            guideds.append(guided.astype(np.float16))
            clicks.append([(c.x, c.y, float(c.positive)) for c in session.clicks])
            steps.append(step)
    table = np.full((len(clicks), max(steps), 3), np.nan, dtype=np.float32)
    for row, rows in enumerate(clicks):
        table[row, :len(rows)] = rows
    return {"raw": np.stack(raws), "guided": np.stack(guideds), "clicks": table,
            "steps": np.asarray(steps, dtype=np.int16)}


def write_snapshots(path: Path, sample: Sample, snapshots: dict[str, np.ndarray]) -> None:
    """Save a sample's snapshots with its image and masks as one compressed npz."""
    np.savez_compressed(path, image=sample.image, gt=sample.gt.astype(np.uint8),
                        ignore=sample.ignore.astype(np.uint8), **snapshots)


def read_snapshots(path: Path) -> list[dict[str, Any]]:
    """One dict per snapshot: image, gt (bool), ignore (bool), raw, guided (float16 (H, W), kept half-size in
    memory), clicks ([Click])."""
    with np.load(path) as data:
        image, gt, ignore = data["image"], data["gt"].astype(bool), data["ignore"].astype(bool)
        out = []
        for raw, guided, rows in zip(data["raw"], data["guided"], data["clicks"]):
            clicks = [Click(float(x), float(y), bool(p)) for x, y, p in rows if np.isfinite(x)]
            out.append({"image": image, "gt": gt, "ignore": ignore, "raw": raw, "guided": guided, "clicks": clicks})
    return out
