"""Cancellation and progress of a round: the caller's cancel flag is asked between steps (every training
step, every evaluated object, every stage), and progress reports carry the stage, the step and an ETA."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Cancelled", "Progress", "Control", "STAGES"]

STAGES = ("prepare", "train", "evaluate-current", "evaluate-candidate", "decide")


class Cancelled(Exception):
    """The round was cancelled; nothing it made is kept."""


@dataclass(frozen=True)
class Progress:
    """stage (one of `STAGES`), step / steps within it (steps 0 when unknown), fraction of the whole round
    done (0..1) and the estimated seconds left (None when unknown)."""

    stage: str
    step: int
    steps: int
    fraction: float
    eta_s: float | None


@dataclass
class Control:
    """`cancelled()` → True once the round should stop (checked at most every `poll_s` seconds: it may read a
    database); `report(Progress)` receives progress (at most every `report_s` seconds, and at each stage)."""

    cancelled: Callable[[], bool] = lambda: False
    report: Callable[[Progress], None] = lambda progress: None
    poll_s: float = 1.0
    report_s: float = 2.0
    _last_poll: float = field(default=float("-inf"), repr=False)
    _last_report: float = field(default=float("-inf"), repr=False)
    _stage: str = field(default="", repr=False)

    def check(self, force: bool = False) -> None:
        """Raise `Cancelled` when the flag is set (asked at most every `poll_s` seconds unless `force`)."""
        now = time.monotonic()
        if force or now - self._last_poll >= self.poll_s:
            self._last_poll = now
            if self.cancelled():
                raise Cancelled("cancelled")

    def should_stop(self) -> bool:
        """`check` as a boolean (for the trainer's stop hook)."""
        try:
            self.check()
        except Cancelled:
            return True
        return False

    def progress(self, progress: Progress) -> None:
        """Pass `progress` on (throttled, except for the first report of a stage)."""
        now = time.monotonic()
        if progress.stage != self._stage or now - self._last_report >= self.report_s:
            self._stage, self._last_report = progress.stage, now
            self.report(progress)
