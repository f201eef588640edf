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
    (learning without forgetting). `distill_first_click_weight` > 0 (needs `init_from`) adds that multiple of
    the same term on a second, single-click input of each plain crop: one positive click in the object's deep
    interior (as the evaluation's first click) and no previous mask, the state whose prior composites move.
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
    distill_first_click_weight: float = 0.0

    def __post_init__(self) -> None:
        for name in ("distill_weight", "distill_first_click_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be at least 0, got {getattr(self, name)}")

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


@config("short")
def short() -> TrainConfig:
    """Shared 2-core CPU run of about 78 minutes of wall time: 192² crops, batch 8, time-budgeted cosine
    schedule, validation every 20 minutes. The click branch (Conv1S) learns 10× faster than the head:
    with a few hundred steps its ScaleLayer (init 0.05) otherwise stays too small for clicks to matter."""
    return TrainConfig(name="short", steps=3000, time_budget_min=78.0, batch=8, log_every=5, warmup_steps=10,
                       click_lr_mult=10.0,
                       augment=AugmentConfig(crop=(192, 192)), val_every=10**9, val_every_min=20.0,
                       val_long_side=288, ckpt_every=20)


@config("full")
def full() -> TrainConfig:
    """GPU recipe closer to RITM: 320×480 crops, batch 28, 60k steps, more clicks."""
    return TrainConfig(name="full", steps=60000, batch=28, warmup_steps=1000, log_every=50, ckpt_every=1000,
                       val_every=5000, augment=AugmentConfig(crop=(320, 480)),
                       sampler=SamplerConfig(max_positive=12, max_negative=12, gamma=0.8, slots=16))


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
    """One-GPU run of a few minutes (the device machine lends 15 minutes per session): 320² crops, batch 32,
    14 loader processes, bf16 autocast, RITM's sampler (≤ 12 + 12 clicks, gamma 0.8), ≤ 3 iterative
    clicks, time-budgeted cosine schedule, validation every 2 minutes on held-out DUTS images."""
    return TrainConfig(name="gpu", steps=100000, time_budget_min=6.5, batch=32, warmup_steps=200, log_every=50,
                       click_lr_mult=10.0, ckpt_every=10**9, val_every=10**9, val_every_min=2.0,
                       val_subset=100, val_long_side=320, workers=14, amp=True, torch_threads=4,
                       augment=AugmentConfig(crop=(320, 320)),
                       sampler=SamplerConfig(max_positive=12, max_negative=12, gamma=0.8, slots=16))


@config("finetune-cpu")
def finetune_cpu() -> TrainConfig:
    """Fine-tune a trained model on the 2-core CPU (pass `--init`): 320² crops as the `gpu` run, batch 8,
    lr 5e-5 (a tenth of the `gpu` run's peak), 45-minute budget, validation every 15 minutes."""
    return TrainConfig(name="finetune-cpu", steps=100000, time_budget_min=45.0, batch=8, lr=5e-5, warmup_steps=20,
                       log_every=20, ckpt_every=100, val_every=10**9, val_every_min=15.0, val_subset=300,
                       val_long_side=320, click_lr_mult=1.0, torch_threads=2, workers=1,
                       augment=AugmentConfig(crop=(320, 320)),
                       sampler=SamplerConfig(max_positive=12, max_negative=12, gamma=0.8, slots=16))


@config("finetune-cpu-accum")
def finetune_cpu_accum() -> TrainConfig:
    """`finetune-cpu` with the GPU run's effective batch: 4 accumulated batches of 8 (32 crops per update),
    BatchNorm frozen (batch-8 statistics are noisy), peak lr 1e-4, an 80-minute budget, validation every
    20 minutes."""
    return replace(finetune_cpu(), name="finetune-cpu-accum", accum_steps=4, freeze_bn=True, lr=1e-4,
                   warmup_steps=10, log_every=5, ckpt_every=25, time_budget_min=80.0, val_every_min=20.0)


@config("backbone-trial")
def backbone_trial() -> TrainConfig:
    """Equal-budget comparison of ImageNet backbones on the 2-core CPU (pass `--network`): the `short` recipe
    from ImageNet weights, one torch thread (two trials run side by side), a 30-minute budget, validation
    at the end only, on 300 held-out images at long side 288."""
    return replace(short(), name="backbone-trial", time_budget_min=30.0, torch_threads=1, val_every_min=None,
                   val_subset=300, ckpt_every=100)


@config("gpu-continue")
def gpu_continue() -> TrainConfig:
    """Continue training a `gpu`-trained model on one GPU (pass `--init`): the `gpu` recipe with half its
    peak lr (2.5e-4), a 50-step warmup, a 7.5-minute budget and validation every 2.4 minutes."""
    return replace(gpu(), name="gpu-continue", lr=2.5e-4, warmup_steps=50, time_budget_min=7.5,
                   val_every_min=2.4)


@config("finetune-cpu-paste")
def finetune_cpu_paste() -> TrainConfig:
    """`finetune-cpu-accum` (frozen BatchNorm, 32 crops per update, peak lr 1e-4, 80 minutes) where 40 % of
    the crops get a second object pasted in (copy-paste composites: the target is the pasted object or the
    occluded original, half and half) — DUTS has one salient object per image, GrabCut/Berkeley-style
    scenes have neighbours and occluders."""
    return replace(finetune_cpu_accum(), name="finetune-cpu-paste", paste=PasteConfig(prob=0.4))


@config("gpu-paste")
def gpu_paste() -> TrainConfig:
    """`gpu-continue` (pass `--init`) with copy-paste composites on half of the crops, a 6.5-minute budget and
    validation every 1.5 minutes (more checkpoints to choose from on the CPU afterwards)."""
    return replace(gpu_continue(), name="gpu-paste", paste=PasteConfig(prob=0.5), time_budget_min=6.5,
                   val_every_min=1.5)


@config("gpu-paste-frozen")
def gpu_paste_frozen() -> TrainConfig:
    """`gpu-paste` with the CPU copy-paste recipe's optimisation: BatchNorm statistics frozen, peak lr 1e-4,
    a 10-step warmup; a 3.3-minute budget and validation every 0.75 minutes (what a second device call
    of a 15-minute session can hold)."""
    return replace(gpu_paste(), name="gpu-paste-frozen", freeze_bn=True, lr=1e-4, warmup_steps=10,
                   time_budget_min=3.3, val_every_min=0.75)


@config("finetune-cpu-multipaste")
def finetune_cpu_multipaste() -> TrainConfig:
    """`finetune-cpu-paste` with busier composites: half of the crops get 1 to 3 pasted objects (later ones
    hide earlier ones; the target is any one of them or the base object), peak lr 5e-5, a 50-minute budget,
    validation every 16 minutes. Meant for the sharp DUTS originals (`--data`)."""
    return replace(finetune_cpu_paste(), name="finetune-cpu-multipaste", paste=PasteConfig(prob=0.5, max_objects=3),
                   lr=5e-5, time_budget_min=50.0, val_every_min=16.0)


@config("finetune-cpu-occlude")
def finetune_cpu_occlude() -> TrainConfig:
    """`finetune-cpu-multipaste` where the pasted objects are only ever occluders and distractors: the target
    is always the base image's own object minus what the pastes hide (`target_pasted_prob` 0), so the
    composites teach respecting a neighbour's or an occluder's boundary without asking the network to pick
    a small pasted object over the salient one (DUTS's own notion of the object)."""
    multi = finetune_cpu_multipaste()
    return replace(multi, name="finetune-cpu-occlude", paste=replace(multi.paste, target_pasted_prob=0.0))


@config("finetune-cpu-neighbours")
def finetune_cpu_neighbours() -> TrainConfig:
    """`finetune-cpu-occlude` with the pasted objects kept beside the base object (at most 10 % of a pasted
    object's area on it): neighbours to stop at, not occluders that cut the object, which is still the
    target."""
    occlude = finetune_cpu_occlude()
    return replace(occlude, name="finetune-cpu-neighbours", paste=replace(occlude.paste, max_base_overlap=0.1))


@config("finetune-cpu-distil")
def finetune_cpu_distil() -> TrainConfig:
    """`finetune-cpu-multipaste` (pass `--init`) with the starting model as a teacher on the plain crops
    (distillation weight 1) and a 90-minute budget: the composites teach neighbours and occluders while the
    plain half keeps the single-object behaviour that every composite leg without the anchor lost."""
    return replace(finetune_cpu_multipaste(), name="finetune-cpu-distil", distill_weight=1.0, time_budget_min=90.0)


@config("finetune-cpu-distil-first")
def finetune_cpu_distil_first() -> TrainConfig:
    """`finetune-cpu-distil` (pass `--init`) plus the teacher's map for a lone first click on every plain crop
    (weight 1) and an 80-minute budget: the last distillation leg kept the multi-click maps but the first
    click on single objects still got worse."""
    return replace(finetune_cpu_distil(), name="finetune-cpu-distil-first", distill_first_click_weight=1.0,
                   time_budget_min=80.0)


@config("gpu-distil")
def gpu_distil() -> TrainConfig:
    """`finetune-cpu-distil` (pass `--init`: multi-object composites on half of the crops, the starting model
    as a teacher on the plain half, frozen BatchNorm, 32 crops per update, peak lr 5e-5) at a GPU's rate: one
    batch of 32 instead of 4 accumulated batches of 8, bf16 autocast, 7 loader processes and 2 torch threads
    (two legs share one 16-core device machine), a 6-minute budget, a checkpoint every 200 updates and
    validation only at the end, on 50 held-out images (the choice is made on the CPU afterwards)."""
    return replace(finetune_cpu_distil(), name="gpu-distil", batch=32, accum_steps=1, amp=True, workers=7,
                   torch_threads=2, time_budget_min=6.0, log_every=50, ckpt_every=200, val_every=10**9,
                   val_every_min=None, val_subset=50)


@config("gpu-distil-light")
def gpu_distil_light() -> TrainConfig:
    """`gpu-distil` with composites on a quarter of the crops instead of half: more of each batch is the
    anchored single-object case that every composite leg so far made worse."""
    distil = gpu_distil()
    return replace(distil, name="gpu-distil-light", paste=replace(distil.paste, prob=0.25))
