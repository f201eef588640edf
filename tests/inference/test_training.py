"""The training pipeline on a tiny synthetic dataset: sampling, loss, a few steps, exact resume, export."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inference.networks.checkpoints import load_checkpoint
from inference.training.configs import get_config
from inference.training.data import AugmentConfig, Sample, augment, list_pairs, load_sample, split_pairs
from inference.training.export import best_record, export_checkpoint, validation_records
from inference.training.loss import distillation_loss, normalized_focal_loss
from inference.training.points import SamplerConfig, add_error_click, sample_points
from inference.training.trainer import Trainer, lr_factor
from inference.evaluation.metrics import noc


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    """8 images 80×100: a coloured disk (object, 2-px ignore ring) on dark noise."""
    root = tmp_path_factory.mktemp("tinyset")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        image = (rng.random((80, 100, 3)) * 60).astype(np.uint8)
        mask = np.zeros((80, 100), np.uint8)
        centre = (int(rng.integers(30, 70)), int(rng.integers(25, 55)))
        radius = int(rng.integers(12, 20))
        cv2.circle(mask, centre, radius, 255, -1)
        image[mask > 0] = (40, 80, 200)
        cv2.circle(mask, centre, radius, 128, 2)
        cv2.imwrite(str(root / "images" / f"{i:03d}.png"), image)
        cv2.imwrite(str(root / "masks" / f"{i:03d}.png"), mask)
    return root


def _cfg(data: Path, **kw):
    return get_config("tiny", data=str(data), **kw)


def _disk_sample(h: int = 64, w: int = 64) -> Sample:
    gt = np.zeros((h, w), bool)
    cv2.circle(gt.view(np.uint8), (32, 32), 14, 1, -1)
    ignore = np.zeros_like(gt)
    ignore[:, :4] = True
    return Sample(np.zeros((h, w, 3), np.uint8), gt, ignore)


def test_dataset_listing_split_and_ignore(tiny_dataset):
    pairs = list_pairs(tiny_dataset)
    assert len(pairs) == 8
    train, val = split_pairs(pairs, 2, seed=3)
    assert len(val) == 2 and not set(train) & set(val)
    assert split_pairs(pairs, 2, seed=3) == (train, val)
    sample = load_sample(*pairs[0])
    assert sample.image.shape == (80, 100, 3) and sample.gt.any() and sample.ignore.any()
    assert not (sample.gt & sample.ignore).any()
    with pytest.raises(ValueError):
        split_pairs(pairs, 8)


def test_augment_returns_crop_with_object(tiny_dataset):
    sample = load_sample(*list_pairs(tiny_dataset)[0])
    out = augment(sample, AugmentConfig(crop=(48, 64)), np.random.default_rng(0))
    assert out.image.shape == (48, 64, 3) and out.image.dtype == np.uint8
    assert out.gt.shape == out.ignore.shape == (48, 64) and out.gt.any()


def test_sampled_points_respect_mask_and_layout():
    sample = _disk_sample()
    cfg = SamplerConfig(max_positive=4, max_negative=4, slots=6, gamma=0.9)
    rng = np.random.default_rng(0)
    saw_negative = False
    for _ in range(30):
        pts = sample_points(sample.gt, sample.ignore, cfg, rng)
        assert pts.shape == (12, 3)
        pos, neg = pts[:6], pts[6:]
        pos, neg = pos[pos[:, 0] >= 0], neg[neg[:, 0] >= 0]
        assert len(pos) >= 1
        assert all(sample.gt[int(y), int(x)] for y, x, _ in pos)
        assert all(not sample.gt[int(y), int(x)] and not sample.ignore[int(y), int(x)] for y, x, _ in neg)
        saw_negative |= len(neg) > 0
    assert saw_negative


def test_error_click_goes_to_the_larger_error():
    sample = _disk_sample()
    pts = np.full((6, 3), -1.0, np.float32)
    pts[0] = (32, 32, 0)
    empty = np.zeros_like(sample.gt)
    added = add_error_click(pts, empty, sample.gt, sample.ignore, np.random.default_rng(0))
    y, x, idx = added[1]
    assert sample.gt[int(y), int(x)] and idx == 1  # missed object → positive click in the next free row
    too_big = np.ones_like(sample.gt)
    added = add_error_click(pts, too_big, sample.gt, sample.ignore, np.random.default_rng(0))
    y, x, _ = added[3]
    assert not sample.gt[int(y), int(x)] and not sample.ignore[int(y), int(x)]


def test_normalized_focal_loss_behaviour():
    gt = torch.zeros(1, 1, 8, 8)
    gt[..., 2:6, 2:6] = 1
    weight = torch.ones_like(gt)
    good = (gt * 2 - 1) * 6
    bad = -good
    assert normalized_focal_loss(good, gt, weight) < normalized_focal_loss(torch.zeros_like(gt), gt, weight)
    assert normalized_focal_loss(torch.zeros_like(gt), gt, weight) < normalized_focal_loss(bad, gt, weight)
    weight[..., 0, :] = 0
    changed = good.clone()
    changed[..., 0, :] = -50.0  # wrong, but ignored
    torch.testing.assert_close(normalized_focal_loss(changed, gt, weight), normalized_focal_loss(good, gt, weight))
    with pytest.raises(ValueError):
        normalized_focal_loss(good, gt[..., :4], weight)


def test_schedule_and_noc():
    cfg = get_config("tiny", warmup_steps=10)
    assert lr_factor(0.0, 0, cfg) == pytest.approx(0.1)
    assert lr_factor(0.0, 20, cfg) == pytest.approx(1.0)
    assert lr_factor(1.0, 20, cfg) == pytest.approx(cfg.min_lr_frac)
    assert noc([0.5, 0.86, 0.91], 0.85) == 2 and noc([0.5, 0.86, 0.91], 0.90) == 3 and noc([0.5], 0.9) == 20


def test_loss_decreases_on_tiny_set(tiny_dataset, tmp_path):
    trainer = Trainer(_cfg(tiny_dataset, steps=30, lr=2e-3, warmup_steps=1), tmp_path)
    losses = [trainer.train_step() for _ in range(30)]
    assert np.mean(losses[-6:]) < 0.95 * np.mean(losses[:6])


def test_channels_last_changes_memory_order_not_the_arithmetic(tiny_dataset, tmp_path):
    # no dropout (its random mask follows memory order) and no iterative clicks (a prediction on the 0.5
    # boundary could place a different error click); everything else is the same arithmetic
    params = {**_cfg(tiny_dataset).net_params, "aspp_dropout": 0.0}
    nhwc = Trainer(_cfg(tiny_dataset, channels_last=True, max_next_clicks=0, net_params=params), tmp_path / "a")
    nchw = Trainer(_cfg(tiny_dataset, channels_last=False, max_next_clicks=0, net_params=params), tmp_path / "b")
    convs = [m.weight for m in nhwc.net.modules()   # where the two orders differ: k > 1 and > 1 input per group
             if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1) and m.in_channels > m.groups]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
                         for w in convs)
    assert all(m.weight.is_contiguous() for m in nchw.net.modules() if isinstance(m, torch.nn.Conv2d))
    # same seed, same batches and clicks: the first losses (same weights) agree up to float rounding; after
    # the updates they stay close but part further (Adam's step normalises the gradients, so parameters with
    # near-zero gradients move by up to ~lr in either run, rounding decides the sign; on an Intel Xeon host
    # the fourth losses differed by 1e-3 relative), so later steps get a looser bound
    losses = [(nhwc.train_step(), nchw.train_step()) for _ in range(4)]
    assert losses[0][0] == pytest.approx(losses[0][1], rel=1e-5)
    assert all(a == pytest.approx(b, rel=1e-2) for a, b in losses[1:])
    assert len({round(a, 4) for a, _ in losses}) > 1   # the batches (and weights) did change between steps


def test_resume_restores_state_exactly(tiny_dataset, tmp_path):
    cfg = _cfg(tiny_dataset, steps=6)
    straight = Trainer(cfg, tmp_path / "a")
    for _ in range(6):
        straight.train_step()
    first = Trainer(cfg, tmp_path / "b")
    for _ in range(3):
        first.train_step()
    first.save_last()
    resumed = Trainer(cfg, tmp_path / "b", resume=True)
    assert resumed.step == 3
    for _ in range(3):
        resumed.train_step()
    for key, value in straight.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    with pytest.raises(FileNotFoundError):
        Trainer(cfg, tmp_path / "c", resume=True)


def test_run_logs_validates_and_exports(tiny_dataset, tmp_path):
    cfg = _cfg(tiny_dataset)
    Trainer(cfg, tmp_path / "run").run()
    lines = [json.loads(l) for l in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    loss_lines = [l for l in lines if "loss" in l]
    assert [l["step"] for l in loss_lines] == list(range(1, cfg.steps + 1))
    for line in loss_lines:   # per-step wall time by phase, for profiling runs (milliseconds, non-negative)
        phases = [line[k] for k in ("ms_batch", "ms_iterative", "ms_optimise")]
        assert all(v >= 0 for v in phases) and line["ms_optimise"] > 0
    records = validation_records(tmp_path / "run")
    assert [r["step"] for r in records] == [3, 6]
    best = best_record(records)
    out = export_checkpoint(tmp_path / "run" / best["checkpoint"], tmp_path / "model.pth", {"note": "test"})
    payload = torch.load(out, weights_only=True)
    assert payload["config"]["class"] == "mobilenetv2_deeplabv3p" and payload["meta"]["note"] == "test"
    assert all(v.dtype == torch.float16 for v in payload["state_dict"].values() if v.is_floating_point())
    net = load_checkpoint(out, "cpu")
    with torch.no_grad():
        logits = net(torch.rand(1, 4, 32, 32), torch.tensor([[[10.0, 10.0, 0.0], [-1, -1, -1]]]))["instances"]
    assert logits.shape == (1, 1, 32, 32) and torch.isfinite(logits).all()


class _TickingClock:
    """Stand-in for the trainer's `time` module: every `time()` call advances one second."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        self.now += 1.0
        return self.now

    @staticmethod
    def perf_counter() -> float:
        return time.perf_counter()


def test_timed_validation_interval_starts_after_the_validation(tiny_dataset, tmp_path, monkeypatch):
    import inference.training.trainer as trainer_module
    monkeypatch.setattr(trainer_module, "time", _TickingClock())
    # a step counts 1 s, a step that validates 3 s; validate once 2.5 s of run time have passed since the last
    cfg = _cfg(tiny_dataset, steps=10, val_every=10**9, val_every_min=2.5 / 60, time_budget_min=None)
    Trainer(cfg, tmp_path / "run").run()
    steps = [r["step"] for r in validation_records(tmp_path / "run")]
    lines = [json.loads(l) for l in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [l for l in lines if "startup_s" in l] == [{"step": 1, "startup_s": 1.0}]   # first step: not in the budget
    assert len(steps) >= 3 and steps[-1] == 10   # the last one: the end of the run always validates
    periodic = steps[:-1]
    assert all(b - a >= 3 for a, b in zip(periodic, periodic[1:])), steps   # never right after the previous one


def test_validation_runs_without_the_cudnn_autotuner(tiny_dataset, tmp_path, monkeypatch):
    import inference.training.trainer as trainer_module
    seen = []

    def fake_evaluate(*args, **kwargs):
        seen.append(torch.backends.cudnn.benchmark)
        return {"noc85": 1.0, "noc90": 1.0, "iou1": 1.0, "n": 1}

    monkeypatch.setattr(trainer_module, "evaluate_noc", fake_evaluate)
    trainer = Trainer(_cfg(tiny_dataset), tmp_path / "run")
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        trainer.validate()
        assert seen == [False] and torch.backends.cudnn.benchmark is True
    finally:
        torch.backends.cudnn.benchmark = before


def test_best_record_prefers_lower_noc():
    records = [{"step": 1, "val": {"noc90": 9.0, "noc85": 7.0}}, {"step": 2, "val": {"noc90": 8.0, "noc85": 7.5}},
               {"step": 3, "val": {"noc90": 8.0, "noc85": 7.5}}]
    assert best_record(records)["step"] == 3
    with pytest.raises(ValueError):
        best_record([])


def test_cli_rejects_unknown_config():
    from inference.train import main
    with pytest.raises(SystemExit):
        main(["--config", "nope", "--out", "x"])


def test_cli_overrides_reach_the_run_config(tiny_dataset, tmp_path):
    from inference.train import main
    assert main(["--config", "tiny", "--data", str(tiny_dataset), "--out", str(tmp_path / "run"), "--lr", "1e-4",
                 "--steps", "1", "--batch", "1", "--workers", "0", "--val-every-min", "0.5"]) == 0
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (saved["lr"], saved["steps"], saved["batch"], saved["workers"]) == (1e-4, 1, 1, 0)
    assert saved["val_every_min"] == 0.5
    with pytest.raises(SystemExit):
        main(["--config", "tiny", "--out", str(tmp_path / "bad"), "--val-every-min", "-1"])


def test_cli_val_every_min_zero_means_only_at_the_end(monkeypatch, tmp_path):
    import inference.train as train_cli

    seen = []

    class FakeTrainer:
        def __init__(self, cfg, out, device, resume):
            seen.append(cfg)

        def run(self):
            pass

    monkeypatch.setattr(train_cli, "Trainer", FakeTrainer)
    assert get_config("finetune-cpu-paste").val_every_min == 20.0
    assert train_cli.main(["--config", "finetune-cpu-paste", "--out", str(tmp_path), "--val-every-min", "0"]) == 0
    assert seen[0].val_every_min is None and seen[0].name == "finetune-cpu-paste"


def test_gpu_continue_is_the_gpu_recipe_with_a_gentler_schedule():
    gpu, cont = get_config("gpu"), get_config("gpu-continue")
    assert cont.lr < gpu.lr and cont.warmup_steps < gpu.warmup_steps
    assert (cont.batch, cont.augment, cont.sampler, cont.amp) == (gpu.batch, gpu.augment, gpu.sampler, gpu.amp)


def test_parallel_loader_yields_training_batches(tiny_dataset):
    from inference.training.data import PairDataset
    from inference.training.loader import batch_stream
    cfg = _cfg(tiny_dataset)
    stream = batch_stream(PairDataset(list_pairs(tiny_dataset), cfg.augment), cfg.sampler, batch=3, workers=2,
                          seed=5)
    for _ in range(3):
        images, gt, ignore, points, composite = next(stream)
        assert images.shape == (3, 3, 64, 64) and images.dtype == torch.float32
        assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
        assert gt.shape == ignore.shape == (3, 64, 64) and gt.dtype == bool and gt.any(axis=(1, 2)).all()
        assert points.shape == (3, 2 * cfg.sampler.slots, 3)
        assert composite.shape == (3,) and composite.dtype == bool and not composite.any()   # no pasting here
        first = points[:, 0]   # every sample has a first positive click inside its object
        assert all(gt[i, int(y), int(x)] for i, (y, x, _) in enumerate(first))
    with pytest.raises(ValueError):
        next(batch_stream(PairDataset(list_pairs(tiny_dataset), cfg.augment), cfg.sampler, 2, 0, 0))


def test_workers_and_separate_validation_folder(tiny_dataset, tmp_path):
    cfg = _cfg(tiny_dataset, val_data=str(tiny_dataset), workers=2, steps=4, val_every=4, ckpt_every=4)
    trainer = Trainer(cfg, tmp_path / "run")
    assert len(trainer.dataset) == 8 and len(trainer.val_pairs) == cfg.val_subset
    trainer.run()
    records = validation_records(tmp_path / "run")
    assert [r["step"] for r in records] == [4] and records[0]["val"]["n"] == cfg.val_subset


def test_init_from_starts_a_fresh_run_from_a_checkpoint(tiny_dataset, tmp_path):
    first = Trainer(_cfg(tiny_dataset, steps=2), tmp_path / "a")
    first.run()
    exported = export_checkpoint(tmp_path / "a" / "val_step000002.pth", tmp_path / "model.pth")
    second = Trainer(_cfg(tiny_dataset, init_from=str(exported)), tmp_path / "b")
    assert second.step == 0
    for key, value in first.net.state_dict().items():   # fp16 export: equal up to half precision
        if value.is_floating_point():
            torch.testing.assert_close(second.net.state_dict()[key], value.half().float())


def _batchnorms(net: torch.nn.Module) -> list[torch.nn.BatchNorm2d]:
    return [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]


def test_freeze_bn_keeps_running_statistics_while_scale_and_shift_learn(tiny_dataset, tmp_path):
    frozen = Trainer(_cfg(tiny_dataset, freeze_bn=True, lr=1e-2), tmp_path / "a")
    before = {k: v.clone() for k, v in frozen.net.state_dict().items()}
    for _ in range(2):
        frozen.train_step()
    after = frozen.net.state_dict()
    stats = [k for k in before if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    affine = [k for k in before if any(k == f"{name}.weight" for name, m in frozen.net.named_modules()
                                       if isinstance(m, torch.nn.BatchNorm2d))]
    assert stats and affine
    assert all(torch.equal(before[k], after[k]) for k in stats)
    assert any(not torch.equal(before[k], after[k]) for k in affine)
    assert all(not m.training for m in _batchnorms(frozen.net))
    # without the option the statistics move as usual
    free = Trainer(_cfg(tiny_dataset, lr=1e-2), tmp_path / "b")
    free_before = {k: v.clone() for k, v in free.net.state_dict().items()}
    free.train_step()
    assert any(not torch.equal(free_before[k], free.net.state_dict()[k]) for k in stats)


def test_accumulated_step_matches_one_step_on_the_whole_batch(tiny_dataset, tmp_path):
    # BatchNorm frozen and no dropout: then 2 accumulated batches of 2 give the gradient of one batch of 4
    # (the loss is a mean over images). The gradients are compared, not the weights: Adam's first step
    # is ~lr × sign(gradient), which float rounding can flip where a gradient is near zero
    params = {**_cfg(tiny_dataset).net_params, "aspp_dropout": 0.0}
    common = dict(freeze_bn=True, max_next_clicks=0, net_params=params, lr=1e-3, warmup_steps=1)
    accum = Trainer(_cfg(tiny_dataset, batch=2, accum_steps=2, **common), tmp_path / "a")
    whole = Trainer(_cfg(tiny_dataset, batch=4, **common), tmp_path / "b")
    images, gt, ignore, points, composite = whole._batch()
    halves = iter([(images[:2], gt[:2], ignore[:2], points[:2], composite[:2]),
                   (images[2:], gt[2:], ignore[2:], points[2:], composite[2:])])
    accum._batch = lambda: next(halves)
    whole._batch = lambda: (images, gt, ignore, points, composite)
    loss_accum, loss_whole = accum.train_step(), whole.train_step()
    assert accum.step == whole.step == 1
    assert loss_accum == pytest.approx(loss_whole, rel=1e-5)
    pairs = [(a.grad, w.grad) for a, w in zip(accum.net.parameters(), whole.net.parameters()) if w.grad is not None]
    assert pairs and any(w.abs().max() > 0 for _, w in pairs)
    for grad_accum, grad_whole in pairs:
        torch.testing.assert_close(grad_accum, grad_whole, rtol=1e-4, atol=1e-6)
    with pytest.raises(StopIteration):   # both halves were drawn by the one step
        accum._batch()


def test_cli_passes_accumulation_network_and_threads(tiny_dataset, tmp_path):
    from inference.train import main
    assert main(["--config", "tiny", "--data", str(tiny_dataset), "--out", str(tmp_path), "--steps", "2",
                 "--accum-steps", "2", "--network", "efficientnet_lite0_deeplabv3p", "--threads", "1"]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["accum_steps"], config["steps"], config["torch_threads"]) == (2, 2, 1)
    assert load_checkpoint(tmp_path / "last.pth").backbone.__class__.__name__ == "EfficientNetLiteBackbone"


def test_distillation_loss_is_least_at_the_teachers_own_map_and_skips_weighted_out_pixels():
    torch.manual_seed(0)
    teacher_logits = torch.randn(2, 1, 8, 8)
    teacher_prob = torch.sigmoid(teacher_logits)
    weight = torch.ones_like(teacher_prob)
    student = teacher_logits.clone().requires_grad_(True)
    at_teacher = distillation_loss(student, teacher_prob, weight)
    at_teacher.backward()
    assert float(student.grad.abs().max()) < 1e-6          # the teacher's logits are a stationary point...
    for shift in (0.5, -0.5):                               # ...and the minimum
        assert distillation_loss(teacher_logits + shift, teacher_prob, weight) > at_teacher
    weight[:, :, :, :4] = 0.0                               # pixels weighted out do not count
    moved = teacher_logits.clone()
    moved[:, :, :, :4] += 5.0
    torch.testing.assert_close(distillation_loss(moved, teacher_prob, weight),
                               distillation_loss(teacher_logits, teacher_prob, weight))
    empty = torch.zeros(0, 1, 8, 8, requires_grad=True)
    assert float(distillation_loss(empty, empty.detach(), empty.detach()).detach()) == 0.0
    with pytest.raises(ValueError):
        distillation_loss(teacher_logits, teacher_prob[..., :4], weight)


def _distil_pair(tiny_dataset, tmp_path, term: str = "distill_weight", **kw):
    """A trainer with the distillation term `term` (a TrainConfig field) and one without, from the same
    exported model, both deterministic given a batch (no dropout, frozen BatchNorm, no iterative clicks)."""
    params = {**_cfg(tiny_dataset).net_params, "aspp_dropout": 0.0}
    Trainer(_cfg(tiny_dataset, steps=1, net_params=params), tmp_path / "seed").run()
    model = export_checkpoint(tmp_path / "seed" / "val_step000001.pth", tmp_path / "model.pth")
    common = dict(freeze_bn=True, max_next_clicks=0, net_params=params, init_from=str(model), **kw)
    return (Trainer(_cfg(tiny_dataset, **{term: 1.0}, **common), tmp_path / "distil"),
            Trainer(_cfg(tiny_dataset, **common), tmp_path / "plain"))


def _loss_and_grads(trainer: Trainer, batch) -> tuple[float, list[torch.Tensor]]:
    trainer._batch = lambda: batch
    trainer.optimizer.zero_grad(set_to_none=True)
    value = trainer._accumulate()
    return value, [p.grad.clone() for p in trainer.net.parameters() if p.grad is not None]


@pytest.mark.parametrize("term", ["distill_weight"])
def test_distillation_anchors_plain_crops_to_the_starting_model_and_leaves_composites_alone(tiny_dataset,
                                                                                            tmp_path, term):
    distil, plain = _distil_pair(tiny_dataset, tmp_path, term)
    assert plain.teacher is None and not distil.teacher.training
    assert all(not p.requires_grad for p in distil.teacher.parameters())
    images, gt, ignore, points, _ = plain._batch()
    composites = (images, gt, ignore, points, np.ones(len(gt), bool))
    plains = (images, gt, ignore, points, np.zeros(len(gt), bool))
    # at the start the student is the teacher: the term adds its floor (the teacher's entropy) and no gradient
    loss_distil, grads_distil = _loss_and_grads(distil, plains)
    loss_plain, grads_plain = _loss_and_grads(plain, plains)
    assert loss_distil > loss_plain + 1e-3
    for a, b in zip(grads_distil, grads_plain):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    # once the student has moved, the term pulls on plain crops and never on composites
    with torch.no_grad():
        for net in (distil.net, plain.net):
            noise = torch.Generator().manual_seed(3)
            for param in net.parameters():
                param.add_(0.05 * torch.randn(param.shape, generator=noise))
    loss_distil, grads_distil = _loss_and_grads(distil, composites)
    loss_plain, grads_plain = _loss_and_grads(plain, composites)
    assert loss_distil == pytest.approx(loss_plain, rel=1e-6)
    loss_distil, grads_distil = _loss_and_grads(distil, plains)
    loss_plain, grads_plain = _loss_and_grads(plain, plains)
    assert any(not torch.allclose(a, b, rtol=1e-3, atol=1e-6) for a, b in zip(grads_distil, grads_plain))
    teacher_before = {k: v.clone() for k, v in distil.teacher.state_dict().items()}
    distil.train_step()
    assert all(torch.equal(v, distil.teacher.state_dict()[k]) for k, v in teacher_before.items())


@pytest.mark.parametrize("term", ["distill_weight"])
def test_distillation_needs_a_starting_model(tiny_dataset, tmp_path, term):
    with pytest.raises(ValueError, match="init_from"):
        Trainer(_cfg(tiny_dataset, **{term: 1.0}), tmp_path / "run")
    with pytest.raises(ValueError, match=term):
        _cfg(tiny_dataset, **{term: -0.5})


def test_configs_are_the_three_stages_of_the_shipped_weights_and_the_smoke_run():
    """Only the recipes that made the shipped weights (gpu → gpu-continue → finetune-cpu-paste) and the test
    run are registered; the fine-tune stage is the CPU recipe with copy-paste composites on 40 % of the crops."""
    from inference.training.configs import CONFIGS

    assert set(CONFIGS) == {"tiny", "gpu", "gpu-continue", "finetune-cpu-paste"}
    paste = get_config("finetune-cpu-paste")
    assert paste.paste.prob == 0.4 and paste.batch * paste.accum_steps == 32 and paste.freeze_bn
    assert paste.augment == get_config("gpu").augment and paste.sampler == get_config("gpu").sampler

