"""Copy-paste composites: scenes with more objects, so that a one-object-per-image training set (DUTS)
also teaches the network to tell objects apart and to respect a boundary between them.

The objects of one or more donor images are cut out along their masks, rescaled and pasted onto an
augmented crop, one after another (a later object hides an earlier one). The target is then either one of
the pasted objects, minus what later ones hide (the base image's own object becomes a distractor), or the
base object minus everything pasted over it. Masks: bool (H, W); images uint8 (H, W, 3) RGB.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.training.sample import Sample


@dataclass(frozen=True)
class PasteConfig:
    """prob: chance that a training crop gets pasted objects; scale_range: a pasted object's bounding-box
    long side as a fraction of the crop's short side; target_pasted_prob: chance that a pasted object (one
    of them, uniformly), not the occluded base object, is the target; min_object_fraction: a composite whose
    target covers less of the crop than this is dropped (the plain crop is used); feather_px: Gaussian sigma
    of the blending edge (the mask itself stays hard); max_objects: a composite gets between 1 and this many
    pasted objects (uniformly; `PairDataset` draws the donors); max_base_overlap: the largest fraction of a
    pasted object's area that may cover the base object — below 1, up to `placement_tries` places are drawn
    and a donor that fits none of them is skipped (neighbours beside the object instead of occluders on it)."""

    prob: float = 0.0
    scale_range: tuple[float, float] = (0.3, 0.8)
    target_pasted_prob: float = 0.5
    min_object_fraction: float = 0.01
    feather_px: float = 0.8
    max_objects: int = 1

    def __post_init__(self) -> None:
        if self.max_objects < 1:
            raise ValueError(f"max_objects must be at least 1, got {self.max_objects}")


def cut_object(donor: Sample, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """The donor's object cropped to its bounding box, randomly flipped left-right:
    (image uint8 (h, w, 3), mask bool (h, w)); None when the donor mask is empty."""
    ys, xs = np.nonzero(donor.gt)
    if ys.size == 0:
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    image, mask = donor.image[y0:y1, x0:x1], donor.gt[y0:y1, x0:x1]
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


def paste_object(base: Sample, donor: Sample, cfg: PasteConfig, rng: np.random.Generator) -> Sample:
    """`paste_objects` with one donor."""
    return paste_objects(base, [donor], cfg, rng)


def paste_objects(base: Sample, donors: list[Sample], cfg: PasteConfig, rng: np.random.Generator) -> Sample:
    """Paste the donors' objects, in order, at random scales and places into `base` (a fixed-size crop) and
    choose the target as described in the module docstring. Donors without an object are skipped. Returns
    `base` unchanged when nothing was pasted or the chosen target would be smaller than
    `cfg.min_object_fraction` of the crop."""
    image = base.image
    layers: list[np.ndarray] = []
    for donor in donors:
        placed = _place_object(image, donor, cfg, rng)
        if placed is not None:
            image, mask = placed
            layers.append(mask)
    if not layers:
        return base
    crop_h, crop_w = base.gt.shape
    hidden_by_later = np.zeros((crop_h, crop_w), dtype=bool)
    visible: list[np.ndarray] = []
    for mask in reversed(layers):
        visible.append(mask & ~hidden_by_later)
        hidden_by_later |= mask
    visible.reverse()
    if rng.random() < cfg.target_pasted_prob:
        # no draw for a single object: runs made before `max_objects` existed keep their random stream
        gt = visible[int(rng.integers(0, len(visible))) if len(visible) > 1 else 0]
        ignore, kind = np.zeros_like(gt), "pasted"
    else:
        gt, ignore, kind = base.gt & ~hidden_by_later, base.ignore & ~hidden_by_later, "base"
    if gt.sum() < cfg.min_object_fraction * crop_h * crop_w:
        return base
    return Sample(image, gt, ignore, target_kind=kind)


def _place_object(image: np.ndarray, donor: Sample, cfg: PasteConfig, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """Blend `donor`'s object into a copy of `image` (H, W, 3) at a random scale and place:
    (new image, the object's mask bool (H, W)); None when the donor has no object."""
    cut = cut_object(donor, rng)
    if cut is None:
        return None
    obj_image, obj_mask = cut
    crop_h, crop_w = image.shape[:2]
    oh, ow = obj_mask.shape
    scale = rng.uniform(*cfg.scale_range) * min(crop_h, crop_w) / max(oh, ow)
    scale = min(scale, crop_h / oh, crop_w / ow)
    size = (max(1, int(round(ow * scale))), max(1, int(round(oh * scale))))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    obj_image = cv2.resize(obj_image, size, interpolation=interp)
    obj_mask = cv2.resize(obj_mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    oh, ow = obj_mask.shape
    top = int(rng.integers(0, crop_h - oh + 1))
    left = int(rng.integers(0, crop_w - ow + 1))

    pasted = np.zeros((crop_h, crop_w), dtype=bool)
    pasted[top:top + oh, left:left + ow] = obj_mask
    alpha = obj_mask.astype(np.float32)
    if cfg.feather_px > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), cfg.feather_px) * alpha  # soften only inside the object
    out = image.copy()
    region = out[top:top + oh, left:left + ow].astype(np.float32)
    blended = alpha[..., None] * obj_image.astype(np.float32) + (1.0 - alpha[..., None]) * region
    out[top:top + oh, left:left + ow] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return out, pasted
