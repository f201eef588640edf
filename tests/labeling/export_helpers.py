"""Masks and a small annotated project for the export / import / flow tests."""
from __future__ import annotations

import io
import zipfile

import numpy as np

from labeling.masks import mask_to_rle, rle_area, rle_bbox
from labeling.models import Annotation, Image, Label


def ring_mask(height: int = 40, width: int = 48) -> np.ndarray:
    """bool (H, W): a filled square [6, 30) x [4, 28) with a square hole [14, 22) x [12, 20)."""
    mask = np.zeros((height, width), bool)
    mask[4:28, 6:30] = True
    mask[12:20, 14:22] = False
    return mask


def two_parts_mask(height: int = 40, width: int = 48) -> np.ndarray:
    """bool (H, W): two separate blobs (a box and a disc) that do not touch."""
    mask = np.zeros((height, width), bool)
    mask[30:37, 2:12] = True
    yy, xx = np.mgrid[:height, :width]
    mask |= (xx - 38) ** 2 + (yy - 10) ** 2 <= 25
    return mask


def add_annotation(image: Image, label: Label, mask: np.ndarray, author=None) -> Annotation:
    """Store a mask directly (bypassing permission checks) with rle/bbox/area from labeling.masks."""
    rle = mask_to_rle(mask)
    return Annotation.objects.create(image=image, label=label, rle=rle, bbox=rle_bbox(rle), area=rle_area(rle),
                                     author=author)


def unzip(data: bytes) -> dict[str, bytes]:
    """All members of a zip as {name: bytes}."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}
