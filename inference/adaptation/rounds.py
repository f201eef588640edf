"""One adaptation round, end to end: split → train → evaluate current and candidate → decide → report.

The web app's Celery job (`labeling.adaptation.jobs`) and `manage.py adapt_simulate` both call `run_round`.
Everything is written under `work_dir` (link folders, the training run, the candidate file, the report); the
caller decides what to keep. A cancelled round raises `Cancelled` between steps and leaves nothing but
`work_dir`, which the caller removes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference.adaptation.config import AdaptConfig
from inference.adaptation.control import Control, Progress
from inference.adaptation.decide import decide
from inference.adaptation.evaluate import Figures, evaluate_model
from inference.adaptation.folders import generic_pairs, link_folder
from inference.adaptation.report import write_report
from inference.adaptation.split import ObjectRef, Split, TooFewObjects, check_sizes, image_rank, split_objects
from inference.adaptation.train import FIT_OBJECTS, train_candidate

__all__ = ["RoundResult", "run_round"]

SECONDS_PER_CLICK_GUESS = 0.25   # ETA before the first evaluation has been timed (an f-BRS-B click on 2 cores)
STARTUP_GUESS_S = 60.0           # the trainer's first step (kept out of its budget)


@dataclass
class RoundResult:
    """What a round did and found. `candidate` is the trained file (None when the round refused before
    training); `before` / `after` the current and candidate model's held-out figures."""

    promoted: bool
    reason: str
    split: Split
    current_model: str
    config: AdaptConfig
    train_objects: int = 0
    heldout_objects: int = 0
    train_images: int = 0
    heldout_images: int = 0
    generic_objects: int = 0
    before: Figures | None = None
    after: Figures | None = None
    candidate: Path | None = None
    steps: int = 0
    losses: list[float] = field(default_factory=list)
    train_seconds: float = 0.0
    fit: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    report: dict[str, Path] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The report's JSON: {"before": {"noc85", "noc90", "nof90", ...}, "after": {...}, "promoted", "reason",
        "train_objects", "heldout_objects", "seconds", ...}."""
        return {"promoted": self.promoted, "reason": self.reason, "current_model": self.current_model,
                "before": self.before.to_json() if self.before else None,
                "after": self.after.to_json() if self.after else None,
                "train_objects": self.train_objects, "heldout_objects": self.heldout_objects,
                "train_images": self.train_images, "heldout_images": self.heldout_images,
                "generic_objects": self.generic_objects, "steps": self.steps,
                "train_seconds": round(self.train_seconds, 1), "fit": self.fit, "losses": self.losses,
                "seconds": round(self.seconds, 1), "split": self.split.to_json(),
                "config": self.config.to_dict()}


class _Clock:
    """The round's ETA: known stages' remaining seconds from the budget and the first evaluation's time."""

    def __init__(self, cfg: AdaptConfig, n_heldout: int, control: Control) -> None:
        self.start = time.monotonic()
        self.cfg, self.control = cfg, control
        clicks = cfg.max_clicks if not cfg.early_stop else max(1, cfg.max_clicks // 3)
        self.eval_s = n_heldout * clicks * SECONDS_PER_CLICK_GUESS
        self.train_s = cfg.budget_min * 60.0 + STARTUP_GUESS_S

    def report(self, stage: str, step: int, steps: int, left_s: float) -> None:
        elapsed = time.monotonic() - self.start
        fraction = elapsed / max(1e-6, elapsed + left_s)
        self.control.progress(Progress(stage, step, steps, round(min(max(fraction, 0.0), 1.0), 4),
                                       round(max(left_s, 0.0), 1)))


def _prepare(objects: list[ObjectRef], cfg: AdaptConfig, previous: Split | None, work_dir: Path
             ) -> tuple[Split, list[ObjectRef], list[ObjectRef], int]:
    """Split, check the sizes (TooFewObjects) and link the train / fit / held-out folders; returns the split, the
    training and held-out objects and the number of generic objects mixed in."""
    split = split_objects(objects, seed=cfg.seed, heldout_fraction=cfg.heldout_fraction,
                          min_heldout_objects=cfg.min_heldout_objects, previous=previous)
    train, heldout = split.parts(objects)
    check_sizes(train, heldout, heldout_fraction=cfg.heldout_fraction,
                min_heldout_objects=cfg.min_heldout_objects, min_train_objects=cfg.min_train_objects)
    generic: list[tuple[str, Path, Path]] = []
    if cfg.generic_data and cfg.generic_share > 0:
        count = round(cfg.generic_share / (1.0 - cfg.generic_share) * len(train))
        generic = generic_pairs(cfg.generic_data, count, cfg.seed)
    link_folder(train, work_dir / "train", extra=generic)
    fit = sorted(train, key=lambda o: image_rank(split.seed, o.object_id))[:FIT_OBJECTS]
    link_folder(fit, work_dir / "fit")
    link_folder(heldout, work_dir / "heldout")
    return split, train, heldout, len(generic)


def run_round(*, objects: list[ObjectRef], current_model: str, current_path: Path, work_dir: Path,
              cfg: AdaptConfig, previous_split: Split | None = None, control: Control | None = None) -> RoundResult:
    """Run one round on `objects` (all the project's accepted objects) starting from `current_model` (its name,
    file `current_path`). Returns the result (with its report written under `work_dir/report`); a round with
    too few objects returns a refusal without training. Raises `Cancelled` when `control` says so."""
    control = control or Control()
    t0 = time.monotonic()
    work_dir.mkdir(parents=True, exist_ok=True)
    control.progress(Progress("prepare", 0, 0, 0.0, None))
    control.check(force=True)
    try:
        split, train, heldout, n_generic = _prepare(objects, cfg, previous_split, work_dir)
    except TooFewObjects as exc:
        split = split_objects(objects, seed=cfg.seed, heldout_fraction=cfg.heldout_fraction,
                              min_heldout_objects=cfg.min_heldout_objects, previous=previous_split)
        train, heldout = split.parts(objects)
        result = RoundResult(False, f"not trained: {exc}", split, current_model, cfg, train_objects=len(train),
                             heldout_objects=len(heldout), train_images=len({o.image_key for o in train}),
                             heldout_images=len({o.image_key for o in heldout}), seconds=time.monotonic() - t0)
        result.report = write_report(result.to_json(), work_dir / "report")
        return result
    result = RoundResult(False, "", split, current_model, cfg, train_objects=len(train), heldout_objects=len(heldout),
                         train_images=len({o.image_key for o in train}),
                         heldout_images=len({o.image_key for o in heldout}), generic_objects=n_generic)
    clock = _Clock(cfg, len(heldout), control)

    def evaluated(stage: str, after_s: float) -> Any:
        def on_object(done: int, total: int) -> None:
            per = (time.monotonic() - started[0]) / max(1, done)
            clock.report(stage, done, total, per * (total - done) + after_s)
        started = [time.monotonic()]
        return on_object

    control.check(force=True)
    clock.report("evaluate-current", 0, len(heldout), clock.eval_s * 2 + clock.train_s)
    result.before = evaluate_model(model=current_path, heldout_dir=work_dir / "heldout", cfg=cfg, control=control,
                                   on_object=evaluated("evaluate-current", clock.eval_s + clock.train_s))
    clock.eval_s = result.before.seconds
    control.check(force=True)
    budget_s = cfg.budget_min * 60.0

    def on_step(step: int, loss: float, progress: float) -> None:
        clock.report("train", step, 0, (1.0 - progress) * budget_s + clock.eval_s)

    clock.report("train", 0, 0, clock.train_s + clock.eval_s)
    outcome = train_candidate(current_model=current_path, train_dir=work_dir / "train", fit_dir=work_dir / "fit",
                              out_dir=work_dir / "candidate", cfg=cfg, control=control, on_step=on_step)
    result.candidate, result.steps, result.losses = outcome.candidate, outcome.steps, outcome.losses
    result.train_seconds, result.fit = outcome.seconds, outcome.fit
    control.check(force=True)
    result.after = evaluate_model(model=outcome.candidate, heldout_dir=work_dir / "heldout", cfg=cfg,
                                  control=control, on_object=evaluated("evaluate-candidate", 0.0))
    control.check(force=True)
    clock.report("decide", 0, 0, 0.0)
    decision = decide(result.before, result.after, cfg.rule)
    result.promoted, result.reason = decision.promoted, decision.reason
    result.seconds = time.monotonic() - t0
    result.report = write_report(result.to_json(), work_dir / "report")
    return result
