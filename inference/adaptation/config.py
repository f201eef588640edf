"""Settings of an adaptation round and the promotion rule (fixed before any round was measured)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["AdaptConfig", "PromotionRule", "RULE"]


@dataclass(frozen=True)
class PromotionRule:
    """The candidate replaces the current model only if, on the held-out objects,
    NoC@90 (candidate) ≤ NoC@90 (current) − max(margin_abs, margin_rel × NoC@90 (current)) and
    NoC@85 (candidate) ≤ NoC@85 (current)."""

    margin_rel: float = 0.05
    margin_abs: float = 0.20

    def margin(self, current_noc90: float) -> float:
        """The NoC@90 improvement (clicks) a candidate must reach against a current model at `current_noc90`."""
        return max(self.margin_abs, self.margin_rel * current_noc90)


RULE = PromotionRule()


@dataclass(frozen=True)
class AdaptConfig:
    """Everything one round needs besides its data.

    Split: `heldout_fraction` of the objects (at least `min_heldout_objects`) are held out by image, seeded by
    `seed`; a round needs `min_train_objects` left to train on. Training: recipe `recipe`
    (`inference.adaptation.train.RECIPES`), `budget_min` minutes of wall time, `threads` torch threads on
    `device` ("cpu", "cuda" or None: CUDA when present); `generic_data` (optional images/ + masks/ folder, e.g.
    DUTS-TR) mixes generic objects into the training set so that they make `generic_share` of it.
    Evaluation: mode `mode` under the predictor preset `preset` ("app": the live workers' settings), at most
    `max_clicks` clicks, all of them (`early_stop` False, so that the mIoU curve is exact) or until IoU 0.90.
    """

    budget_min: float = 10.0
    seed: int = 0
    heldout_fraction: float = 0.2
    min_heldout_objects: int = 20
    min_train_objects: int = 20
    recipe: str = "adapt"
    threads: int = 2
    device: str | None = None
    generic_data: str | None = None
    generic_share: float = 0.5
    mode: str = "f-brs-b"
    preset: str = "app"
    max_clicks: int = 20
    early_stop: bool = False
    rule: PromotionRule = RULE

    def __post_init__(self) -> None:
        if self.budget_min <= 0:
            raise ValueError(f"budget_min must be > 0, got {self.budget_min}")
        if not 0 < self.heldout_fraction < 1:
            raise ValueError(f"heldout_fraction must be in (0, 1), got {self.heldout_fraction}")
        if self.min_heldout_objects < 1 or self.min_train_objects < 1:
            raise ValueError("min_heldout_objects and min_train_objects must be at least 1")
        if not 0 <= self.generic_share < 1:
            raise ValueError(f"generic_share must be in [0, 1), got {self.generic_share}")
        if self.mode == "grabcut":
            raise ValueError("the evaluation mode needs a network (grabcut has none)")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (recorded in the round's report)."""
        return asdict(self)
