"""The promotion decision: `config.PromotionRule` applied to the current and the candidate model's figures."""
from __future__ import annotations

from dataclasses import dataclass

from inference.adaptation.config import PromotionRule
from inference.adaptation.evaluate import Figures

__all__ = ["Decision", "decide"]


@dataclass(frozen=True)
class Decision:
    """promoted, and why (one sentence with the figures)."""

    promoted: bool
    reason: str


def decide(before: Figures, after: Figures, rule: PromotionRule) -> Decision:
    """Promote iff NoC@90 drops by at least `rule.margin(before.noc90)` and NoC@85 does not rise."""
    margin = rule.margin(before.noc90)
    gain = before.noc90 - after.noc90
    figures = (f"NoC@90 {before.noc90:.2f} → {after.noc90:.2f}, NoC@85 {before.noc85:.2f} → {after.noc85:.2f} "
               f"on {after.n} held-out objects")
    if gain < margin:
        return Decision(False, f"kept the current model: NoC@90 improved by {gain:.2f} clicks, less than the "
                               f"margin of {margin:.2f} ({figures})")
    if after.noc85 > before.noc85:
        return Decision(False, f"kept the current model: NoC@85 got worse ({figures})")
    return Decision(True, f"promoted: NoC@90 lower by {gain:.2f} clicks (margin {margin:.2f}), NoC@85 no worse "
                          f"({figures})")
