"""The training loop: MultiPointSampler clicks + RITM iterative clicks with the prev-mask input, normalised
focal loss, Adam (backbone lr ×0.1) with warmup + cosine schedule, JSON-lines log, periodic checkpoints,
validation NoC, exact resume."""
from __future__ import annotations

import contextlib
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm import tqdm

from inference.networks.registry import build
from inference.training.checkpoint import atomic_save, load_payload, model_payload
from inference.training.configs import TrainConfig
from inference.training.data import PairDataset, list_pairs, split_pairs
from inference.training.loader import batch_stream, collate, draw_item
from inference.training.loss import distillation_loss, normalized_focal_loss
from inference.training.points import add_error_click
from inference.training.validation import PROB_THRESH, evaluate_noc


def lr_factor(progress: float, step: int, cfg: TrainConfig) -> float:
    """Multiplier of the base lr: linear warmup over `warmup_steps`, then cosine from 1 to `min_lr_frac`
    as `progress` goes 0 → 1."""
    warm = min(1.0, (step + 1) / max(1, cfg.warmup_steps))
    p = min(max(progress, 0.0), 1.0)
    cosine = cfg.min_lr_frac + (1.0 - cfg.min_lr_frac) * 0.5 * (1.0 + math.cos(math.pi * p))
    return warm * cosine


class Trainer:
    """One training run writing into `out_dir` (log.jsonl, last.pth, val_stepN.pth, config.json)."""

    def __init__(self, cfg: TrainConfig, out_dir: str | Path, device: str = "cpu", resume: bool = False) -> None:
        self.cfg = cfg
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.device = torch.device(device)
        torch.set_num_threads(cfg.torch_threads)
        torch.manual_seed(cfg.seed)
        pairs = list_pairs(cfg.data)
        if cfg.val_data:
            train_pairs, val_pairs = pairs, list_pairs(cfg.val_data)
        else:
            train_pairs, val_pairs = split_pairs(pairs, cfg.n_val, cfg.split_seed)
        self.dataset = PairDataset(train_pairs, cfg.augment, cfg.paste)
        self.val_pairs = val_pairs[:cfg.val_subset]
        self.net = build(cfg.network, **cfg.net_params)
        if cfg.init_from and not resume:
            self._load_init_weights(self.net)
        elif cfg.pretrained and not resume:
            self.net.backbone.load_imagenet()
        self.net.to(self.device)
        if cfg.channels_last:
            self.net.to(memory_format=torch.channels_last)
        self.teacher = self._build_teacher() if cfg.distill_weight > 0 else None
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick its fastest kernels
        self.optimizer = torch.optim.Adam(self._param_groups(), betas=(0.9, 0.999), eps=1e-8)
        self.rng = np.random.default_rng(cfg.seed)
        self.step = 0
        self.elapsed = 0.0
        if resume:
            self._load_last()
        self._stream = None
        if cfg.workers > 0:
            self._stream = batch_stream(self.dataset, cfg.sampler, cfg.batch, cfg.workers,
                                        seed=cfg.seed * 1_000_003 + self.step, pin_memory=self.device.type == "cuda")
        self.phase_seconds = {"batch": 0.0, "iterative": 0.0, "optimise": 0.0}  # since the last log line
        self._click_pool = ThreadPoolExecutor(max_workers=max(1, cfg.workers // 2)) if cfg.workers > 0 else None
        (self.out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1, default=str))

    def _load_init_weights(self, net: torch.nn.Module) -> torch.nn.Module:
        """Load the `init_from` checkpoint's weights (fp16 exports widened to float32) into `net`; returns it."""
        state = load_payload(self.cfg.init_from)["state_dict"]
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        return net

    def _build_teacher(self) -> torch.nn.Module:
        """The `init_from` network, frozen in eval mode: the anchor of the distillation terms."""
        cfg = self.cfg
        if not cfg.init_from:
            raise ValueError("distill_weight > 0 needs init_from (the teacher is the starting model)")
        teacher = self._load_init_weights(build(cfg.network, **cfg.net_params))
        teacher.to(self.device).eval().requires_grad_(False)
        if cfg.channels_last:
            teacher.to(memory_format=torch.channels_last)
        return teacher

    def _param_groups(self) -> list[dict[str, Any]]:
        """Adam groups: backbone (lr × backbone_lr_mult), click branch (× click_lr_mult), the rest."""
        cfg = self.cfg
        backbone, rest = self.net.parameter_groups()
        click_ids = {id(p) for p in self.net.maps_transform.parameters()}
        groups = [(backbone, cfg.backbone_lr_mult), ([p for p in rest if id(p) in click_ids], cfg.click_lr_mult),
                  ([p for p in rest if id(p) not in click_ids], 1.0)]
        return [{"params": params, "lr": cfg.lr * mult, "base_lr": cfg.lr * mult} for params, mult in groups]

    # --- state ---------------------------------------------------------------------------------------
    def _train_state(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "step": self.step, "elapsed": self.elapsed,
                "numpy_rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}

    def save_last(self) -> Path:
        """Write the resumable `last.pth`."""
        payload = model_payload(self.net, self.cfg.network, self.cfg.net_params, self._meta())
        payload["train_state"] = self._train_state()
        path = self.out / "last.pth"
        atomic_save(payload, path)
        return path

    def _load_last(self) -> None:
        path = self.out / "last.pth"
        if not path.is_file():
            raise FileNotFoundError(f"--resume: no {path}")
        payload = load_payload(path)
        self.net.load_state_dict(payload["state_dict"])
        state = payload["train_state"]
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except ValueError as exc:  # parameter groups changed since the checkpoint: fresh Adam moments
            self._log({"step": int(state["step"]), "warning": f"optimizer state not restored: {exc}"})
        self.step = int(state["step"])
        self.elapsed = float(state["elapsed"])
        self.rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def _meta(self, **extra: Any) -> dict[str, Any]:
        return {"trained_by": "inference.train", "config_name": self.cfg.name, "step": self.step,
                "elapsed_s": round(self.elapsed, 1), "data": self.cfg.data, "torch": str(torch.__version__),
                "family": "ritm", **extra}

    def _log(self, record: dict[str, Any]) -> None:
        with open(self.out / "log.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")

    # --- one step ------------------------------------------------------------------------------------
    def _batch(self) -> tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(images (B,3,h,w) float [0,1], gt bool (B,h,w), ignore bool (B,h,w), points (B,2S,3),
        composite bool (B,))."""
        if self._stream is not None:
            return next(self._stream)
        return collate([draw_item(self.dataset, self.cfg.sampler, self.rng) for _ in range(self.cfg.batch)])

    def _net_input(self, images: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """(B, 3 or 4, h, w): the images with the previous probability appended when the network takes it,
        in the memory order the config asks for."""
        x = torch.cat([images, prev], dim=1) if self.net.with_prev_mask else images
        return x.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last else x

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.cfg.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _error_clicks(self, points: np.ndarray, preds: np.ndarray, gt: np.ndarray, ignore: np.ndarray
                      ) -> np.ndarray:
        """One iterative-training click per sample (threads when loader workers are on: OpenCV frees the
        GIL); each sample draws from its own child generator so the result does not depend on scheduling."""
        if self._click_pool is None:
            return np.stack([add_error_click(points[i], preds[i], gt[i], ignore[i], self.rng)
                             for i in range(len(points))])
        rngs = self.rng.spawn(len(points))
        rows = self._click_pool.map(lambda i: add_error_click(points[i], preds[i], gt[i], ignore[i], rngs[i]),
                                    range(len(points)))
        return np.stack(list(rows))

    def _train_mode(self) -> None:
        """Training mode, with BatchNorm layers kept in eval mode when the config freezes them."""
        self.net.train()
        if self.cfg.freeze_bn:
            for module in self.net.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.eval()

    def _accumulate(self) -> float:
        """Draw one batch, run its iterative clicks and add its gradient (scaled by 1 / accum_steps) to the
        parameters' `.grad`; returns the batch's loss value. Adds the wall time per phase (waiting for the
        batch, iterative clicks, forward/backward) to `phase_seconds`."""
        t0 = time.perf_counter()
        images, gt, ignore, points, composite = self._batch()
        images = images.to(self.device, non_blocking=True)
        t1 = time.perf_counter()
        prev = torch.zeros(images.shape[0], 1, *images.shape[2:], device=self.device)
        n_iter = int(self.rng.integers(0, self.cfg.max_next_clicks + 1))
        if n_iter:
            self.net.eval()
            with torch.no_grad():
                for _ in range(n_iter):
                    pts = torch.from_numpy(points).to(self.device)
                    with self._autocast():
                        logits = self.net(self._net_input(images, prev), pts)["instances"]
                    prev = torch.sigmoid(logits.float())
                    preds = (prev[:, 0] > PROB_THRESH).cpu().numpy()
                    points = self._error_clicks(points, preds, gt, ignore)
        t2 = time.perf_counter()
        self._train_mode()
        net_input, pts = self._net_input(images, prev), torch.from_numpy(points).to(self.device)
        with self._autocast():
            out = self.net(net_input, pts)["instances"]
        out = out.float()
        target = torch.from_numpy(gt).float().unsqueeze(1).to(self.device)
        weight = torch.from_numpy(~ignore).float().unsqueeze(1).to(self.device)
        loss = normalized_focal_loss(out, target, weight)
        if self.cfg.distill_weight > 0:
            loss = loss + self.cfg.distill_weight * self._distillation(net_input, pts, out, weight, composite)
        (loss / self.cfg.accum_steps).backward()
        value = float(loss.item())  # synchronises with the device, so the phase times below are complete
        t3 = time.perf_counter()
        for phase, seconds in (("batch", t1 - t0), ("iterative", t2 - t1), ("optimise", t3 - t2)):
            self.phase_seconds[phase] += seconds
        return value

    def _distillation(self, net_input: torch.Tensor, points: torch.Tensor, out: torch.Tensor,
                      weight: torch.Tensor, composite: np.ndarray) -> torch.Tensor:
        """The distillation term on the plain (not composited) crops of a batch: the student's logits `out`
        (B, 1, h, w) against the teacher's probabilities for the same input (clicks and previous mask
        included), so that learning the composites does not move what the network does on single objects."""
        plain = torch.from_numpy(~composite).to(self.device)
        if not bool(plain.any()):
            return out.sum() * 0.0
        return self._held_to_teacher(net_input[plain], points[plain], out[plain], weight[plain])

    def _held_to_teacher(self, net_input: torch.Tensor, points: torch.Tensor, out: torch.Tensor,
                         weight: torch.Tensor) -> torch.Tensor:
        """`distillation_loss` of the student's logits `out` (B, 1, h, w) against the teacher's probabilities
        for the same `net_input` (B, C, h, w) and `points` (B, 2S, 3); `weight` (B, 1, h, w)."""
        with torch.no_grad(), self._autocast():
            teacher_logits = self.teacher(net_input, points)["instances"]
        return distillation_loss(out, torch.sigmoid(teacher_logits.float()), weight)

    def train_step(self) -> float:
        """One optimisation step over `accum_steps` batches; returns their mean loss. Adds the step's wall
        time per phase to `phase_seconds` (the update itself counts as `optimise`)."""
        progress = self.progress()
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * lr_factor(progress, self.step, self.cfg)
        self.optimizer.zero_grad(set_to_none=True)
        values = [self._accumulate() for _ in range(self.cfg.accum_steps)]
        t0 = time.perf_counter()
        self.optimizer.step()
        self.step += 1
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.phase_seconds["optimise"] += time.perf_counter() - t0
        return float(np.mean(values))

    def progress(self) -> float:
        """Fraction of the run done: max(step / steps, elapsed / time budget)."""
        p = self.step / self.cfg.steps
        if self.cfg.time_budget_min:
            p = max(p, self.elapsed / (60.0 * self.cfg.time_budget_min))
        return p

    # --- validation ----------------------------------------------------------------------------------
    def validate(self) -> dict[str, float]:
        """Validation NoC on the subset; saves `val_step{N}.pth` and logs the result."""
        t0 = time.time()
        # Validation images differ in size: with cuDNN's autotuner on, every new shape is benchmarked (the
        # first validation of a GPU run took 90 s instead of 4 s), so it is off while validating.
        autotune = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = False
        try:
            metrics = evaluate_noc(self.net, self.val_pairs, long_side=self.cfg.val_long_side, device=self.device)
        finally:
            torch.backends.cudnn.benchmark = autotune
        metrics["seconds"] = round(time.time() - t0, 1)
        path = self.out / f"val_step{self.step:06d}.pth"
        atomic_save(model_payload(self.net, self.cfg.network, self.cfg.net_params, self._meta(val=metrics)), path)
        self._log({"step": self.step, "val": metrics, "checkpoint": path.name})
        return metrics

    # --- loop ----------------------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool] | None = None,
            on_step: Callable[[int, float, float], None] | None = None) -> bool:
        """Train until `steps` or the time budget; checkpoints every `ckpt_every`, validation every
        `val_every` steps and at the end. Returns True when the run finished.

        `should_stop()` (optional) is asked after every step: True ends the run at once — `last.pth` is
        written, no final validation — and `run` returns False (a cancelled job). `on_step(step, loss,
        progress)` (optional) is called after every step with the step's mean loss and `progress()`."""
        cfg = self.cfg
        bar = tqdm(total=cfg.steps, initial=self.step, desc=cfg.name, mininterval=30, smoothing=0.1)
        losses: list[float] = []
        last_validated = -1
        last_val_time = self.elapsed
        first_step = self.step + 1
        while self.progress() < 1.0:
            t0 = time.time()
            losses.append(self.train_step())
            bar.update(1)
            if on_step is not None:
                on_step(self.step, losses[-1], self.progress())
            if self.step % cfg.log_every == 0:
                lrs = [g["lr"] for g in self.optimizer.param_groups]
                phase_ms = {f"ms_{k}": round(1000.0 * v / len(losses), 1) for k, v in self.phase_seconds.items()}
                self._log({"step": self.step, "loss": float(np.mean(losses)), "lr": lrs[-1],
                           "elapsed_s": round(self.elapsed, 1), "progress": round(self.progress(), 4),
                           **phase_ms})
                self.phase_seconds = dict.fromkeys(self.phase_seconds, 0.0)
                bar.set_postfix(loss=f"{np.mean(losses):.4f}")
                losses = []
            if self.step % cfg.ckpt_every == 0:
                self.save_last()
            due = self.step % cfg.val_every == 0 or (
                cfg.val_every_min is not None and self.elapsed - last_val_time >= 60.0 * cfg.val_every_min)
            if due:
                self.validate()
                last_validated = self.step
            step_s = time.time() - t0   # validation and checkpoints included
            if self.step == first_step:   # loader processes starting, cuDNN autotuning: kept out of the schedule
                self._log({"step": self.step, "startup_s": round(step_s, 1)})
            else:
                self.elapsed += step_s
            if due:   # the next interval starts after this validation, not before it
                last_val_time = self.elapsed
            if should_stop is not None and should_stop():
                bar.close()
                self.save_last()
                self._log({"step": self.step, "stopped": True})
                return False
        bar.close()
        self.save_last()
        if last_validated != self.step:
            self.validate()
        return True
