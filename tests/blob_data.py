"""Synthetic "cells" for adaptation tests: dark noisy pictures with small bright blobs, one object per blob
(a domain the default model handles badly: a click on a blob selects far more than the blob)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def blob_picture(seed: int, size: tuple[int, int] = (96, 96), blobs: int = 3) -> tuple[np.ndarray, list[np.ndarray]]:
    """(RGB uint8 (H, W, 3), one bool (H, W) mask per blob); blobs do not touch."""
    rng = np.random.default_rng(seed)
    h, w = size
    image = rng.normal(40, 8, (h, w, 3)).clip(0, 255)
    yy, xx = np.mgrid[0:h, 0:w]
    masks: list[np.ndarray] = []
    taken = np.zeros((h, w), dtype=bool)
    while len(masks) < blobs:
        r = rng.uniform(5, 9)
        cy, cx = rng.uniform(r + 2, h - r - 2), rng.uniform(r + 2, w - r - 2)
        ry, rx = r * rng.uniform(0.8, 1.2), r * rng.uniform(0.8, 1.2)
        mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        if (cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)[taken].any():
            continue
        taken |= mask
        masks.append(mask)
        image[mask] = np.array([90, 200, 120]) + rng.normal(0, 10, (int(mask.sum()), 3))
    return image.clip(0, 255).astype(np.uint8), masks


def write_blob_dataset(root: Path, n_images: int, blobs: int = 3, seed: int = 0) -> Path:
    """A folder data set: `images-unique/<i>.png` once per picture, `images/<i>_<k>.png` symbolic links to it and
    `masks/<i>_<k>.png` (0 / 255) per blob."""
    for sub in ("images", "masks", "images-unique"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        image, masks = blob_picture(seed * 1000 + i, blobs=blobs)
        unique = root / "images-unique" / f"p{i:03d}.png"
        cv2.imwrite(str(unique), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        for k, mask in enumerate(masks):
            (root / "images" / f"p{i:03d}_{k}.png").symlink_to(Path("..") / "images-unique" / unique.name)
            cv2.imwrite(str(root / "masks" / f"p{i:03d}_{k}.png"), np.where(mask, 255, 0).astype(np.uint8))
    return root
