"""Parallel training batches: worker processes that each draw augmented samples and their clicks.

`batch_stream(dataset, sampler_cfg, batch, workers, seed)` yields `(images, gt, ignore, points, composite)`
exactly as `Trainer._batch` builds them in-process: images float32 (B, 3, h, w) in [0, 1], gt and ignore bool
(B, h, w), points float32 (B, 2S, 3) rows (y, x, index) with -1 padding, composite bool (B,) (objects pasted
in). Each worker draws from its own seeded generator, so a run is reproducible for a given worker count but
resumes are not bit-exact (the in-process path, `workers = 0`, is).
"""
from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from inference.training.data import PairDataset
from inference.training.points import SamplerConfig, sample_points


Item = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]
Batch = tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def draw_item(dataset: PairDataset, sampler: SamplerConfig, rng: np.random.Generator) -> Item:
    """One random augmented sample and its initial clicks: (image uint8 (h, w, 3), gt bool (h, w),
    ignore bool (h, w), points float32 (2S, 3), composite)."""
    sample = dataset.get(int(rng.integers(0, len(dataset))), rng)
    return (sample.image, sample.gt, sample.ignore, sample_points(sample.gt, sample.ignore, sampler, rng),
            sample.composite)


def collate(items: list[Item]) -> Batch:
    """Stack items into (images float32 (B, 3, h, w) in [0, 1], gt, ignore, points, composite) — see the
    module doc."""
    images = torch.from_numpy(np.stack([i[0] for i in items])).permute(0, 3, 1, 2).float().div_(255.0)
    return (images, np.stack([i[1] for i in items]), np.stack([i[2] for i in items]),
            np.stack([i[3] for i in items]), np.array([i[4] for i in items], dtype=bool))


class _SampleStream(IterableDataset):
    """Endless (image uint8 (h, w, 3), gt bool (h, w), ignore bool (h, w), points (2S, 3), composite)
    samples."""

    def __init__(self, dataset: PairDataset, sampler: SamplerConfig, seed: int) -> None:
        self.dataset = dataset
        self.sampler = sampler
        self.seed = seed

    def __iter__(self) -> Iterator[Item]:
        info = get_worker_info()
        worker = info.id if info is not None else 0
        cv2.setNumThreads(1)
        torch.set_num_threads(1)
        rng = np.random.default_rng([self.seed, worker])
        while True:
            yield draw_item(self.dataset, self.sampler, rng)


def _collate_for_loader(items: list[Item]) -> tuple[torch.Tensor, ...]:
    images, gt, ignore, points, composite = collate(items)
    return (images, torch.from_numpy(gt), torch.from_numpy(ignore), torch.from_numpy(points),
            torch.from_numpy(composite))


def batch_stream(dataset: PairDataset, sampler: SamplerConfig, batch: int, workers: int, seed: int,
                 pin_memory: bool = False) -> Iterator[Batch]:
    """Endless batches from `workers` (≥ 1) processes; see the module docstring for shapes."""
    if workers < 1:
        raise ValueError(f"workers must be ≥ 1, got {workers}")
    # "spawn", not fork: a process forked after torch's OpenMP pool has run can block forever on a lock
    # the fork copied (seen in the test suite: workers asleep on a futex, parent waiting for them).
    loader = DataLoader(_SampleStream(dataset, sampler, seed), batch_size=batch, num_workers=workers,
                        collate_fn=_collate_for_loader, pin_memory=pin_memory, prefetch_factor=4,
                        persistent_workers=True, multiprocessing_context="spawn")
    for images, gt, ignore, points, composite in loader:
        yield images, gt.numpy(), ignore.numpy(), points.numpy(), composite.numpy()
