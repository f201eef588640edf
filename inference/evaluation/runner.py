"""Drive :class:`inference.session.SegmentationSession` objects through the NoC protocol (spec §4).

Per sample and mode: a fresh session (the same object the app uses), prediction all False, then up to
``max_clicks`` times: automatic click from the current errors → ``session.add_click`` → ``probs > 0.49``
→ IoU. The reference stops at IoU ≥ 0.90; we run **all** ``max_clicks`` clicks by default so that mIoU@k
is measured, and take NoC from the same IoU sequence (predictions are causal, so the first clicks are
exactly those of a stopped run; NoC@t for t ≤ 0.90 is therefore unchanged). ``early_stop=True`` stops
like the reference (faster; mIoU@k beyond the stop is then reported as null).

Timing: each click is timed from choosing the click to its IoU; building the session (image
preprocessing) is added to the sample's first click. SPC counts, as the reference does, only the clicks
up to reaching 0.90 (``clicks_to_target``) and their time.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .clicker import AutoClicker
from .datasets import Dataset, Sample, open_dataset
from .metrics import (MIOU_CLICKS, TARGET_IOU, clicks_to_target, iou, miou_at, miou_curve, nof_summary,
                      noc_summary)

if TYPE_CHECKING:
    from inference.predictors.base import PredictorConfig

__all__ = ["MODES", "EvalConfig", "SampleResult", "evaluate_sample", "summarize_mode", "run_samples",
           "Evaluator"]

MODES: tuple[str, ...] = ("nobrs", "rgb-brs", "distmap-brs", "f-brs-a", "f-brs-b", "f-brs-c", "grabcut")
MODEL_FREE_MODES: frozenset[str] = frozenset({"grabcut"})


class SessionLike(Protocol):
    """What the evaluation needs from a session (a subset of SegmentationSession)."""

    def add_click(self, click: Any) -> np.ndarray: ...


@dataclass
class SampleResult:
    """Outcome of one sample in one mode.

    Attributes:
        mode, sample_id: what was evaluated.
        clicks: ``[(x, y, positive), ...]`` in image pixels, in click order.
        ious: IoU after each click (float64 values).
        seconds: wall seconds of each click (session construction included in the first).
        clicks_to_target: clicks the reference would have made (first IoU ≥ 0.90, else all made).
        device: the session's device (``last_stats["device"]``), if reported.
    """

    mode: str
    sample_id: str
    clicks: list[tuple[float, float, bool]]
    ious: list[float]
    seconds: list[float]
    clicks_to_target: int
    device: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (one line of samples.jsonl)."""
        return {
            "mode": self.mode,
            "id": self.sample_id,
            "clicks": [{"x": _num(x), "y": _num(y), "positive": bool(p)} for x, y, p in self.clicks],
            "ious": [round(float(v), 7) for v in self.ious],
            "seconds": [round(float(s), 4) for s in self.seconds],
            "clicks_to_target": self.clicks_to_target,
            "device": self.device,
        }


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def evaluate_sample(make_session: Callable[[np.ndarray], SessionLike], sample: Sample, mode: str,
                    max_clicks: int = 20, prob_thresh: float = 0.49,
                    early_stop: bool = False) -> SampleResult:
    """Run the automatic clicker on one sample.

    Args:
        make_session: ``make_session(image uint8 (H, W, 3) RGB) -> session`` with ``add_click(Click)``
            returning float32 (H, W) probabilities.
        sample: the object to segment.
        mode: recorded in the result.
        max_clicks: clicks per sample (≥ 1).
        prob_thresh: ``probs > prob_thresh`` is the predicted mask (0.49 in the protocol).
        early_stop: stop once IoU ≥ 0.90 (the reference behaviour) instead of running all clicks.
    """
    if max_clicks < 1:
        raise ValueError(f"max_clicks must be ≥ 1, got {max_clicks}")
    start = time.perf_counter()
    session = make_session(sample.image)
    clicker = AutoClicker(sample.gt, sample.ignore)
    pred = np.zeros(sample.gt.shape, dtype=bool)
    ious: list[float] = []
    seconds: list[float] = []
    for _ in range(max_clicks):
        click = clicker.next(pred)
        probs = np.asarray(session.add_click(click))
        if probs.shape != sample.gt.shape:
            raise RuntimeError(f"session returned probabilities of shape {probs.shape}, "
                               f"expected {sample.gt.shape}")
        pred = probs > prob_thresh
        ious.append(iou(sample.gt, pred, sample.ignore))
        now = time.perf_counter()
        seconds.append(now - start)
        start = now
        if early_stop and ious[-1] >= TARGET_IOU:
            break
    stats = getattr(session, "last_stats", None) or {}
    return SampleResult(
        mode=mode, sample_id=sample.sample_id,
        clicks=[(c.x, c.y, c.positive) for c in clicker.clicks],
        ious=ious, seconds=seconds,
        clicks_to_target=clicks_to_target(ious, TARGET_IOU, max_clicks),
        device=stats.get("device") if isinstance(stats, dict) else None,
    )


def summarize_mode(results: Sequence[SampleResult], *, dataset: str, model: str | None, mode: str,
                   max_clicks: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Aggregate one mode's sample results into the summary.json object (see docs/results.md)."""
    all_ious = [r.ious for r in results]
    spc_clicks = sum(r.clicks_to_target for r in results)
    spc_seconds = sum(sum(r.seconds[:r.clicks_to_target]) for r in results)
    devices = sorted({r.device for r in results if r.device})
    summary: dict[str, Any] = {
        "dataset": dataset,
        "model": model,
        "mode": mode,
        "n": len(results),
        "max_clicks": max_clicks,
        "noc": noc_summary(all_ious, max_clicks),
        "nof": nof_summary(all_ious, max_clicks),
        "miou": {str(k): (miou_at(all_ious, k) if k <= max_clicks else None) for k in MIOU_CLICKS},
        "miou_curve": miou_curve(all_ious, max_clicks),
        "spc": spc_seconds / spc_clicks if spc_clicks else None,
        "spc_clicks": spc_clicks,
        "spc_seconds": spc_seconds,
        "clicks_total": sum(len(r.ious) for r in results),
        "seconds_total": sum(sum(r.seconds) for r in results),
        "device": ",".join(devices) if devices else None,
    }
    if extra:
        summary.update(extra)
    return summary


@dataclass(frozen=True)
class EvalConfig:
    """Everything a (worker) process needs to evaluate samples; picklable.

    `preset`: the named predictor settings (`inference.predictors.presets`: "app", what the live workers run,
    or "reference", the papers'); `overrides`: (name, text value) pairs applied on top
    (`presets.apply_overrides`, e.g. ("lbfgs.maxfun", "40")).
    """

    dataset_dir: str
    modes: tuple[str, ...]
    model: str | None = None
    dataset_kind: str | None = None
    max_clicks: int = 20
    preset: str = "app"
    overrides: tuple[tuple[str, str], ...] = ()
    early_stop: bool = False
    device: str | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        unknown = [m for m in self.modes if m not in MODES]
        if unknown:
            raise ValueError(f"unknown mode(s) {', '.join(unknown)}; known: {', '.join(MODES)}")
        if not self.modes:
            raise ValueError("at least one mode is required")
        if self.model is None and any(m not in MODEL_FREE_MODES for m in self.modes):
            raise ValueError("a model (registered name or checkpoint path) is required for modes other "
                             "than grabcut")
        if self.max_clicks < 1:
            raise ValueError(f"max_clicks must be ≥ 1, got {self.max_clicks}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be ≥ 1, got {self.limit}")
        for mode in self.modes:   # unknown presets, settings or bad values fail here, not in a worker
            self.predictor_config(mode)

    def predictor_config(self, mode: str) -> PredictorConfig:
        """The `PredictorConfig` every session of `mode` gets (GrabCut ignores it)."""
        from inference.predictors.presets import get_preset
        return get_preset(self.preset).config(mode, dict(self.overrides))


@dataclass
class Evaluator:
    """Holds the data set and the loaded model for one process; evaluates (mode, sample index) pairs."""

    config: EvalConfig
    dataset: Dataset = field(init=False)
    _model: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.dataset = open_dataset(self.config.dataset_dir, self.config.dataset_kind)

    @property
    def n_samples(self) -> int:
        n = len(self.dataset)
        return min(n, self.config.limit) if self.config.limit else n

    def model(self) -> Any:
        """The loaded model (loaded once, on first use)."""
        if self._model is None:
            from inference.model_zoo import load_model
            self._model = load_model(self.config.model, device=self.config.device)
        return self._model

    def session_factory(self, mode: str) -> Callable[[np.ndarray], SessionLike]:
        """``image -> SegmentationSession`` for ``mode`` with the evaluation settings."""
        from inference.session import SegmentationSession
        model = None if mode in MODEL_FREE_MODES else self.model()
        config = self.config.predictor_config(mode)

        def make(image: np.ndarray) -> SessionLike:
            return SegmentationSession(model, image, mode=mode, config=config)

        return make

    def run(self, mode: str, index: int) -> SampleResult:
        """Evaluate sample ``index`` in ``mode``."""
        cfg = self.config
        return evaluate_sample(self.session_factory(mode), self.dataset[index], mode,
                               cfg.max_clicks, cfg.predictor_config(mode).prob_thresh, cfg.early_stop)


# --- worker processes --------------------------------------------------------------------------------
_WORKER: Evaluator | None = None


def _worker_init(config: EvalConfig, threads: int) -> None:
    global _WORKER
    import cv2
    import torch
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    _WORKER = Evaluator(config)


def _worker_run(task: tuple[str, int]) -> SampleResult:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.run(*task)


def run_samples(config: EvalConfig, workers: int = 1, progress: bool = True,
                   on_result: Callable[[SampleResult], None] | None = None,
                   ) -> tuple[list[dict[str, Any]], list[SampleResult]]:
    """Evaluate every mode of ``config`` on the data set.

    Args:
        config: what to evaluate.
        workers: processes (1 = in this process; K > 1 = a spawn pool, each worker loading the model
            once and using ``cpu_count // K`` torch threads).
        progress: show a tqdm bar on stderr.
        on_result: called with each finished sample (e.g. to stream samples.jsonl).
    Returns:
        (one summary dict per mode in ``config.modes`` order, all sample results ordered by mode then
        data set order).
    """
    if workers < 1:
        raise ValueError(f"workers must be ≥ 1, got {workers}")
    from tqdm import tqdm

    local = Evaluator(config)
    n = local.n_samples
    tasks = [(mode, i) for mode in config.modes for i in range(n)]
    order = {task: k for k, task in enumerate(tasks)}
    results: list[SampleResult] = []
    wall_start = time.perf_counter()
    bar = tqdm(total=len(tasks), desc=f"{local.dataset.name}", unit="sample", disable=not progress)
    try:
        threads = None
        if workers == 1 or len(tasks) <= 1:
            iterator = (local.run(mode, i) for mode, i in tasks)
            pool = None
        else:
            threads = max(1, (os.cpu_count() or 1) // workers)
            pool = multiprocessing.get_context("spawn").Pool(
                workers, initializer=_worker_init, initargs=(config, threads))
            iterator = pool.imap_unordered(_worker_run, tasks)
        try:
            for result in iterator:
                results.append(result)
                if on_result is not None:
                    on_result(result)
                bar.set_postfix(mode=result.mode, iou=f"{result.ious[-1]:.3f}")
                bar.update(1)
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    finally:
        bar.close()
    wall = time.perf_counter() - wall_start
    position = {sample_id: i for i, sample_id in enumerate(local.dataset.ids)}
    results.sort(key=lambda r: order[(r.mode, position[r.sample_id])])

    model_name = config.model
    if config.model is not None and any(m not in MODEL_FREE_MODES for m in config.modes):
        model_name = _model_label(config.model)
    extra = {"preset": config.preset, "overrides": dict(config.overrides), "early_stop": config.early_stop,
             "workers": workers, "wall_seconds_run": wall, "machine": machine_description(threads)}
    summaries = [
        summarize_mode([r for r in results if r.mode == mode], dataset=local.dataset.name,
                       model=None if mode in MODEL_FREE_MODES else model_name, mode=mode,
                       max_clicks=config.max_clicks,
                       extra={**extra, "settings": dataclasses.asdict(config.predictor_config(mode))})
        for mode in config.modes
    ]
    return summaries, results


def _model_label(model: str) -> str:
    """A registered name stays as is; a checkpoint path becomes its file name."""
    path = Path(model)
    return path.name if path.suffix in {".pth", ".pt", ".ckpt"} or path.exists() else model


def machine_description(threads: int | None = None) -> str:
    """One line: CPU model / core count, torch version and threads per process (recorded with every
    summary); ``threads`` overrides this process's torch thread count (worker processes)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import torch
        torch_part = f"torch {torch.__version__}, {threads or torch.get_num_threads()} threads per process"
        if torch.cuda.is_available():
            torch_part += f", CUDA {torch.cuda.get_device_name(0)}"
    except ImportError:  # pragma: no cover - torch is a hard dependency of the engine
        torch_part = "no torch"
    return f"{cpu} ({os.cpu_count()} logical CPUs), {torch_part}"
