"""Training data: (image, mask) pairs from a `images/` + `masks/` folder, a fixed validation split, and
numpy/OpenCV augmentations producing fixed-size crops.

Masks are 8-bit: 0 background, 255 object, 128 ignore. A `Sample` holds the RGB uint8 (H, W, 3) image,
the bool (H, W) object mask and the bool (H, W) ignore mask.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.training.composite import PasteConfig, paste_objects
from inference.training.sample import Sample
from inference.utils.files import resolve_link_file

__all__ = ["Sample", "IGNORE_VALUE", "list_pairs", "split_pairs", "load_sample", "resize_sample",
           "AugmentConfig", "augment", "colour_jitter", "PairDataset", "image_of", "split_pairs_by_image"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
IGNORE_VALUE = 128


def list_pairs(root: str | Path) -> list[tuple[Path, Path]]:
    """Sorted (image path, mask path) pairs of `root/images/<id>.*` and `root/masks/<id>.png`.

    Raises FileNotFoundError if the folders are missing or no pair exists."""
    root = Path(root)
    images, masks = root / "images", root / "masks"
    if not images.is_dir() or not masks.is_dir():
        raise FileNotFoundError(f"{root} must contain images/ and masks/")
    pairs = []
    for path in sorted(images.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            mask = masks / (path.stem + ".png")
            if mask.is_file():
                pairs.append((path, mask))
    if not pairs:
        raise FileNotFoundError(f"no image/mask pairs under {root}")
    return pairs


def image_of(pair: tuple[Path, Path]) -> str:
    """The photo a sample comes from: its id without a trailing `_<k>` object index (COCO-multi and DSB2018
    name samples `<image>_<k>`); the whole id otherwise."""
    stem = pair[0].stem
    head, sep, tail = stem.rpartition("_")
    return head if sep and tail.isdigit() else stem


def split_pairs_by_image(pairs: list[tuple[Path, Path]], val_fraction: float, seed: int = 0
                         ) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """Deterministic (train, val) split that never separates the objects of one photo (`image_of`): a seeded
    permutation of the photos, the first ⌈val_fraction · photos⌉ held out."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    photos = sorted({image_of(p) for p in pairs})
    order = np.random.default_rng(seed).permutation(len(photos))
    held_out = {photos[i] for i in order[:int(np.ceil(val_fraction * len(photos)))].tolist()}
    return ([p for p in pairs if image_of(p) not in held_out], [p for p in pairs if image_of(p) in held_out])


def split_pairs(pairs: list[tuple[Path, Path]], n_val: int, seed: int = 0
                ) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """Deterministic (train, val) split: `n_val` pairs chosen by a seeded permutation."""
    if not 0 <= n_val < len(pairs):
        raise ValueError(f"n_val must be in [0, {len(pairs)}), got {n_val}")
    order = np.random.default_rng(seed).permutation(len(pairs))
    val_idx = set(order[:n_val].tolist())
    train = [p for i, p in enumerate(pairs) if i not in val_idx]
    val = [p for i, p in enumerate(pairs) if i in val_idx]
    return train, val


def load_sample(image_path: str | Path, mask_path: str | Path) -> Sample:
    """Read one pair; raises ValueError on unreadable files or size mismatch."""
    bgr = cv2.imread(str(resolve_link_file(image_path)), cv2.IMREAD_COLOR)
    mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    if bgr is None or mask is None:
        raise ValueError(f"cannot read {image_path} / {mask_path}")
    if bgr.shape[:2] != mask.shape:
        raise ValueError(f"size mismatch {bgr.shape[:2]} vs {mask.shape} for {image_path}")
    return Sample(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), mask > IGNORE_VALUE, mask == IGNORE_VALUE)


def resize_sample(sample: Sample, scale: float) -> Sample:
    """Rescale image (area/linear) and masks (nearest) by `scale`."""
    h, w = sample.gt.shape
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    image = cv2.resize(sample.image, size, interpolation=interp)
    gt = cv2.resize(sample.gt.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    ignore = cv2.resize(sample.ignore.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return Sample(image, gt, ignore)


@dataclass(frozen=True)
class AugmentConfig:
    """crop: (height, width) of the output; scale_range: multiplier of the base scale that fits the image's
    long side to the crop's long side; colour jitter as albumentations' RandomBrightnessContrast/RGBShift."""

    crop: tuple[int, int] = (256, 256)
    scale_range: tuple[float, float] = (0.75, 1.4)
    flip_prob: float = 0.5
    brightness: float = 0.25
    contrast: float = 0.25
    rgb_shift: float = 10.0
    colour_prob: float = 0.75
    min_object_fraction: float = 0.01
    crop_tries: int = 5


def augment(sample: Sample, cfg: AugmentConfig, rng: np.random.Generator) -> Sample:
    """Random scale, flip, pad, object-aware random crop to `cfg.crop`, colour jitter.

    Returns a Sample with image (ch, cw, 3) uint8; pad pixels are ignore=False background.
    """
    ch, cw = cfg.crop
    h, w = sample.gt.shape
    base = max(ch, cw) / max(h, w)
    out = resize_sample(sample, base * rng.uniform(*cfg.scale_range))
    if rng.random() < cfg.flip_prob:
        out = Sample(out.image[:, ::-1].copy(), out.gt[:, ::-1].copy(), out.ignore[:, ::-1].copy())
    h, w = out.gt.shape
    ph, pw = max(0, ch - h), max(0, cw - w)
    if ph or pw:
        pads = ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2))
        out = Sample(np.pad(out.image, pads + ((0, 0),), mode="constant"),
                     np.pad(out.gt, pads), np.pad(out.ignore, pads))
        h, w = out.gt.shape
    need = cfg.min_object_fraction * ch * cw
    for _ in range(cfg.crop_tries):
        y0 = int(rng.integers(0, h - ch + 1))
        x0 = int(rng.integers(0, w - cw + 1))
        if out.gt[y0:y0 + ch, x0:x0 + cw].sum() >= need:
            break
    crop = Sample(out.image[y0:y0 + ch, x0:x0 + cw].copy(), out.gt[y0:y0 + ch, x0:x0 + cw].copy(),
                  out.ignore[y0:y0 + ch, x0:x0 + cw].copy())
    return Sample(colour_jitter(crop.image, cfg, rng), crop.gt, crop.ignore)


def colour_jitter(image: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Brightness/contrast (p = colour_prob) then per-channel RGB shift (p = colour_prob); uint8 in/out."""
    img = image.astype(np.float32)
    if rng.random() < cfg.colour_prob:
        alpha = 1.0 + rng.uniform(-cfg.contrast, cfg.contrast)
        beta = rng.uniform(-cfg.brightness, cfg.brightness) * 255.0
        img = img * alpha + beta
    if rng.random() < cfg.colour_prob:
        img = img + rng.uniform(-cfg.rgb_shift, cfg.rgb_shift, size=3).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


class PairDataset:
    """Indexable training set over (image, mask) path pairs; `get(i, rng)` → augmented Sample, with 1 to
    `paste.max_objects` pasted objects (`inference.training.composite`) with probability `paste.prob`."""

    def __init__(self, pairs: list[tuple[Path, Path]], cfg: AugmentConfig,
                 paste: PasteConfig | None = None) -> None:
        if not pairs:
            raise ValueError("empty dataset")
        self.pairs = pairs
        self.cfg = cfg
        self.paste = paste

    def __len__(self) -> int:
        return len(self.pairs)

    def get(self, index: int, rng: np.random.Generator) -> Sample:
        """Augmented sample `index`; a crop without object pixels is retried on another index."""
        for attempt in range(10):
            sample = augment(load_sample(*self.pairs[index]), self.cfg, rng)
            if sample.gt.any():
                if self.paste is not None and self.paste.prob > 0 and rng.random() < self.paste.prob:
                    # no draw when max_objects is 1: earlier runs keep their random stream
                    count = int(rng.integers(1, self.paste.max_objects + 1)) if self.paste.max_objects > 1 else 1
                    donors = [load_sample(*self.pairs[int(rng.integers(0, len(self.pairs)))]) for _ in range(count)]
                    sample = paste_objects(sample, donors, self.paste, rng)
                return sample
            index = int(rng.integers(0, len(self.pairs)))
        return sample
