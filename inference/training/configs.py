"""Training configurations, registered by name (`python -m inference.train --config NAME`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

from inference.training.composite import PasteConfig
from inference.training.data import AugmentConfig
from inference.training.points import SamplerConfig

DUTS = "/work/shared/datasets/DUTS-TR-6000"


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs. `time_budget_min` (optional) ends the run early and drives the
    LR schedule by max(step / steps, elapsed / budget) so that a CPU run always finishes its decay; the first
    step of each `run()` (loader start-up, cuDNN autotuning: over a minute on a fresh GPU machine) is left out
    of `elapsed` and logged as `startup_s`.
    `val_data` (optional): a separate images/ + masks/ folder to validate on; then all of `data` trains and
    `n_val` is ignored. `workers` > 0 draws batches in that many processes (not bit-exact on resume);
    `amp` runs forward/backward under bfloat16 autocast on CUDA (loss in float32); `channels_last` keeps
    weights and inputs in NHWC memory order (steps ~1.5× faster on the 2-core CPU; not measured on CUDA).
    `accum_steps`: batches whose gradients are averaged into one optimiser step (an effective batch of
    `batch × accum_steps`; `steps` counts optimiser steps). `freeze_bn`: BatchNorm layers stay in eval mode
    while training — running statistics fixed, their scale and shift still learn (fine-tuning at small
    batches, where per-batch statistics are noisy).
    `paste`: copy-paste composites (a second object pasted in; `inference.training.composite`), off by
    default.
    `init_from`: a model checkpoint (`{'state_dict', 'config'}`) whose weights start a fresh run
    (fine-tuning; no optimiser state).
    `distill_weight` > 0 (needs `init_from`): adds that multiple of a distillation term — the cross-entropy
    between the network's map and the `init_from` model's on the same input — on the crops that are not
    composites, so that a fine-tune on composites keeps the starting model's behaviour on single objects
    (learning without forgetting).
    """

    name: str
    data: str = DUTS
    val_data: str | None = None
    init_from: str | None = None
    network: str = "mobilenetv2_deeplabv3p"
    net_params: dict[str, Any] = field(default_factory=lambda: {"output_stride": 16})
    pretrained: bool = True
    n_val: int = 300
    val_subset: int = 50
    val_long_side: int = 320
    split_seed: int = 0
    seed: int = 1
    batch: int = 8
    steps: int = 3000
    time_budget_min: float | None = None
    lr: float = 5e-4
    backbone_lr_mult: float = 0.1
    click_lr_mult: float = 1.0
    warmup_steps: int = 100
    min_lr_frac: float = 0.02
    max_next_clicks: int = 3
    augment: AugmentConfig = AugmentConfig()
    paste: PasteConfig = PasteConfig()
    sampler: SamplerConfig = SamplerConfig()
    log_every: int = 20
    ckpt_every: int = 100
    val_every: int = 400
    val_every_min: float | None = None
    torch_threads: int = 2
    workers: int = 0
    amp: bool = False
    channels_last: bool = True
    accum_steps: int = 1
    freeze_bn: bool = False
    distill_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.distill_weight < 0:
            raise ValueError(f"distill_weight must be at least 0, got {self.distill_weight}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (saved in checkpoints and the run folder)."""
        return asdict(self)


CONFIGS: dict[str, Callable[[], TrainConfig]] = {}


def config(name: str) -> Callable[[Callable[[], TrainConfig]], Callable[[], TrainConfig]]:
    """Register a zero-argument config factory under `name`."""
    def decorator(factory: Callable[[], TrainConfig]) -> Callable[[], TrainConfig]:
        CONFIGS[name] = factory
        return factory
    return decorator


def get_config(name: str, **overrides: Any) -> TrainConfig:
    """The config `name` with dataclass field overrides; KeyError lists the known names."""
    if name not in CONFIGS:
        raise KeyError(f"unknown training config {name!r}; known: {sorted(CONFIGS)}")
    return replace(CONFIGS[name](), **overrides)


@config("tiny")
def tiny() -> TrainConfig:
    """Seconds-long smoke run for tests (random-init backbone, 64² crops); point `data` at a tiny set."""
    return TrainConfig(name="tiny", pretrained=False, n_val=2, val_subset=2, val_long_side=64, batch=2,
                       steps=6, warmup_steps=1, log_every=1, ckpt_every=3, val_every=3, max_next_clicks=1,
                       net_params={"output_stride": 16, "aspp_ch": 16, "skip_ch": 8, "head_ch": 16},
                       augment=AugmentConfig(crop=(64, 64)),
                       sampler=SamplerConfig(max_positive=3, max_negative=3, slots=5))


@config("gpu")
def gpu() -> TrainConfig:
    """Stage 1 of the shipped weights, one GPU from ImageNet weights: 320² crops, batch 32, 14 loader processes,
    bf16 autocast, RITM's sampler (≤ 12 + 12 clicks, gamma 0.8), ≤ 3 iterative clicks, time-budgeted cosine
    schedule, validation every 2 minutes on held-out DUTS images."""
    return TrainConfig(name="gpu", steps=100000, time_budget_min=6.5, batch=32, warmup_steps=200, log_every=50,
                       click_lr_mult=10.0, ckpt_every=10**9, val_every=10**9, val_every_min=2.0,
                       val_subset=100, val_long_side=320, workers=14, amp=True, torch_threads=4,
                       augment=AugmentConfig(crop=(320, 320)),
                       sampler=SamplerConfig(max_positive=12, max_negative=12, gamma=0.8, slots=16))


@config("gpu-continue")
def gpu_continue() -> TrainConfig:
    """Stage 2, continue a `gpu`-trained model on one GPU (pass `--init`): the `gpu` recipe with half its peak lr
    (2.5e-4), a 50-step warmup, a 7.5-minute budget and validation every 2.4 minutes."""
    return replace(gpu(), name="gpu-continue", lr=2.5e-4, warmup_steps=50, time_budget_min=7.5,
                   val_every_min=2.4)


@config("finetune-cpu-paste")
def finetune_cpu_paste() -> TrainConfig:
    """Stage 3, fine-tune on the 2-core CPU with copy-paste composites (pass `--init`): 320² crops, 4 accumulated
    batches of 8 (32 crops per update), BatchNorm frozen, peak lr 1e-4 after a 10-step warmup, an 80-minute
    budget, validation every 20 minutes on 300 held-out images; 40 % of the crops get a second object pasted in
    (the target is the pasted object or the occluded original, half and half): DUTS has one salient object per
    image, the photos annotators bring have neighbours and occluders."""
    return TrainConfig(name="finetune-cpu-paste", steps=100000, time_budget_min=80.0, batch=8, accum_steps=4,
                       freeze_bn=True, lr=1e-4, warmup_steps=10, log_every=5, ckpt_every=25, val_every=10**9,
                       val_every_min=20.0, val_subset=300, val_long_side=320, click_lr_mult=1.0, torch_threads=2,
                       workers=1, augment=AugmentConfig(crop=(320, 320)), paste=PasteConfig(prob=0.4),
                       sampler=SamplerConfig(max_positive=12, max_negative=12, gamma=0.8, slots=16))
