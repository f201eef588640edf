"""Validation NoC (NoBRS, no flip, no zoom-in) on held-out training-set images, for checkpoint choice.

Uses the protocol's clicker (`inference.evaluation.clicker.next_click`): ≤ max_clicks clicks, prediction
threshold 0.49, IoU over non-ignored pixels, the previous probability fed back as the prev-mask channel.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from inference.evaluation.clicker import next_click
from inference.evaluation.metrics import iou, noc
from inference.networks.base import ClickNetwork
from inference.training.data import Sample, load_sample, resize_sample

PROB_THRESH = 0.49


@torch.no_grad()
def click_ious(net: ClickNetwork, sample: Sample, max_clicks: int = 20, stop_iou: float = 0.90,
               device: str | torch.device = "cpu") -> list[float]:
    """IoU after each automatic click (stops early once `stop_iou` is reached).

    sample.image uint8 (H, W, 3); returns a list of ≤ max_clicks floats."""
    net.eval()
    h, w = sample.gt.shape
    image = torch.from_numpy(sample.image).permute(2, 0, 1).float().div(255.0).unsqueeze(0).to(device)
    prob = torch.zeros(1, 1, h, w, device=device)
    pred = np.zeros((h, w), dtype=bool)
    clicked = np.zeros((h, w), dtype=bool)
    positives: list[tuple[float, float, float]] = []
    negatives: list[tuple[float, float, float]] = []
    ious: list[float] = []
    for index in range(max_clicks):
        click = next_click(sample.gt, pred, sample.ignore, clicked)
        clicked[int(click.y), int(click.x)] = True
        (positives if click.positive else negatives).append((click.y, click.x, float(index)))
        slots = max(len(positives), len(negatives), 1)
        rows = np.full((2 * slots, 3), -1.0, dtype=np.float32)
        if positives:
            rows[:len(positives)] = positives
        if negatives:
            rows[slots:slots + len(negatives)] = negatives
        points = torch.from_numpy(rows).unsqueeze(0).to(device)
        net_input = torch.cat([image, prob], dim=1) if net.with_prev_mask else image
        prob = torch.sigmoid(net(net_input, points)["instances"])
        pred = (prob[0, 0] > PROB_THRESH).cpu().numpy()
        ious.append(iou(sample.gt, pred, sample.ignore))
        if ious[-1] >= stop_iou:
            break
    return ious


def score_pairs(net: ClickNetwork, pairs: list[tuple[Path, Path]], long_side: int = 320, max_clicks: int = 20,
                device: str | torch.device = "cpu") -> dict[str, list]:
    """Per-image scores over `pairs`, images resized so their long side is `long_side`; pairs whose mask has
    no object are skipped. Returns {"id": image stems, "noc85", "noc90": click counts, "iou1": IoU after
    the first click}, lists in the order of `pairs`."""
    was_training = net.training
    scores: dict[str, list] = {"id": [], "noc85": [], "noc90": [], "iou1": []}
    for image_path, mask_path in pairs:
        sample = load_sample(image_path, mask_path)
        sample = resize_sample(sample, long_side / max(sample.gt.shape))
        if not sample.gt.any():
            continue
        ious = click_ious(net, sample, max_clicks=max_clicks, stop_iou=0.90, device=device)
        scores["id"].append(Path(image_path).stem)
        scores["noc85"].append(noc(ious, 0.85, max_clicks))
        scores["noc90"].append(noc(ious, 0.90, max_clicks))
        scores["iou1"].append(ious[0])
    net.train(was_training)
    return scores


def evaluate_noc(net: ClickNetwork, pairs: list[tuple[Path, Path]], long_side: int = 320, max_clicks: int = 20,
                 device: str | torch.device = "cpu") -> dict[str, float]:
    """Mean NoC@85 / NoC@90 and mean IoU@1 over `pairs` (`score_pairs`); ValueError if no pair has an object."""
    scores = score_pairs(net, pairs, long_side, max_clicks, device)
    if not scores["noc90"]:
        raise ValueError("no validation sample with an object")
    return {"noc85": float(np.mean(scores["noc85"])), "noc90": float(np.mean(scores["noc90"])),
            "iou1": float(np.mean(scores["iou1"])), "n": len(scores["noc90"])}
