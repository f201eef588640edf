"""Evaluation data sets: a registry of small loaders, chosen by the folder's layout.

Every loader yields :class:`Sample` objects (one object instance each) lazily, so worker processes can
load only the samples they evaluate.

Layouts:

* ``folder`` (our sets, GrabCut, Berkeley): ``images/<id>.<jpg|png|...>`` + ``masks/<id>.png``,
  8-bit, 0 = background, 255 (> 128) = object, 128 = ignore (RITM ``GrabCutDataset`` convention). A
  colour mask is reduced with the maximum over channels, as the reference loader does.
* ``sbd`` (SBD test split): ``img/<name>.jpg``, ``inst/<name>.mat`` (``GTinst.Segmentation``),
  ``val.txt``; each instance is a sample (``<name>#<instance id>``), other instances are background.
* ``voc`` (PASCAL VOC val): ``JPEGImages/``, ``SegmentationObject/<name>.png`` (palette indices),
  ``ImageSets/Segmentation/val.txt``; each instance index 1..254 is a sample; the void index 255 is
  ignored (the reference reaches the same pixels through a grey-level 220 quirk).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.utils.files import resolve_link_file

__all__ = ["Sample", "Dataset", "open_dataset", "register_loader", "loader_names", "DatasetError"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class DatasetError(ValueError):
    """A data set folder or file that cannot be evaluated (missing files, wrong shapes, empty masks)."""


@dataclass(frozen=True)
class Sample:
    """One object instance to segment.

    Attributes:
        sample_id: stable id, unique within the data set.
        image: uint8 (H, W, 3) RGB.
        gt: bool (H, W), True = object.
        ignore: bool (H, W), True = left out of IoU and of click placement.
    """

    sample_id: str
    image: np.ndarray
    gt: np.ndarray
    ignore: np.ndarray


class Dataset:
    """A list of lazily loaded samples.

    Args:
        name: data set name used in reports (the folder name).
        ids: sample ids in evaluation order.
        load: ``load(sample_id) -> Sample``.
    """

    def __init__(self, name: str, ids: list[str], load: Callable[[str], Sample]) -> None:
        self.name = name
        self.ids = list(ids)
        self._load = load

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> Sample:
        return self._load(self.ids[index])

    def __iter__(self) -> Iterator[Sample]:
        for sample_id in self.ids:
            yield self._load(sample_id)


# --- registry ----------------------------------------------------------------------------------------
Detector = Callable[[Path], bool]
Opener = Callable[[Path], Dataset]
_LOADERS: dict[str, tuple[Detector, Opener]] = {}


def register_loader(name: str, detect: Detector) -> Callable[[Opener], Opener]:
    """Register ``opener(path) -> Dataset`` under ``name``; ``detect(path)`` says whether a folder has
    this layout (checked in registration order by :func:`open_dataset`)."""

    def decorator(opener: Opener) -> Opener:
        if name in _LOADERS:
            raise ValueError(f"data set loader {name!r} is already registered")
        _LOADERS[name] = (detect, opener)
        return opener

    return decorator


def loader_names() -> list[str]:
    """Registered layout names, in detection order."""
    return list(_LOADERS)


def open_dataset(path: str | Path, kind: str | None = None) -> Dataset:
    """Open the data set in folder ``path``; ``kind`` forces a layout, else it is detected.

    Raises:
        DatasetError: folder missing, unknown kind, or no layout recognised.
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"data set folder not found: {root}")
    if kind is not None:
        if kind not in _LOADERS:
            raise DatasetError(f"unknown data set kind {kind!r}; known: {', '.join(_LOADERS)}")
        return _LOADERS[kind][1](root)
    for detect, opener in _LOADERS.values():
        if detect(root):
            return opener(root)
    raise DatasetError(
        f"{root} has no known layout: expected images/ + masks/ (folder), img/ + inst/ + val.txt (sbd) "
        "or JPEGImages/ + SegmentationObject/ (voc)")


# --- helpers -----------------------------------------------------------------------------------------
def read_rgb(path: Path) -> np.ndarray:
    """Read an image file (or the file a link file names, `resolve_link_file`) as uint8 (H, W, 3) RGB (grey
    images are expanded to 3 channels)."""
    data = cv2.imread(str(resolve_link_file(path)), cv2.IMREAD_COLOR)
    if data is None:
        raise DatasetError(f"cannot read image {path}")
    return np.ascontiguousarray(data[:, :, ::-1])


def _check_pair(sample_id: str, image: np.ndarray, gt: np.ndarray, ignore: np.ndarray) -> Sample:
    if image.shape[:2] != gt.shape:
        raise DatasetError(f"sample {sample_id}: image {image.shape[:2]} and mask {gt.shape} differ in size")
    if not gt.any():
        raise DatasetError(f"sample {sample_id}: the mask has no object pixels")
    return Sample(sample_id, image, gt, ignore)


# --- folder layout (images/ + masks/) ----------------------------------------------------------------
def _is_folder_layout(root: Path) -> bool:
    return (root / "images").is_dir() and (root / "masks").is_dir()


def decode_grabcut_mask(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0/128/255 mask (H, W) or (H, W, C) -> (gt bool, ignore bool): 128 = ignore, > 128 = object."""
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    if mask.ndim != 2:
        raise DatasetError(f"mask must be 2-D or 3-D, got shape {mask.shape}")
    return mask > 128, mask == 128


@register_loader("folder", _is_folder_layout)
def open_folder(root: Path) -> Dataset:
    """``images/<id>.*`` + ``masks/<id>.png``; the ids are the mask names, sorted."""
    images: dict[str, Path] = {}
    for path in sorted((root / "images").iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in images:
                raise DatasetError(f"two images for id {path.stem!r}: {images[path.stem].name}, {path.name}")
            images[path.stem] = path
    masks = {p.stem: p for p in sorted((root / "masks").glob("*.png"))}
    if not masks:
        raise DatasetError(f"no masks/*.png in {root}")
    missing = sorted(set(masks) - set(images))
    if missing:
        raise DatasetError(f"masks without an image in {root / 'images'}: {', '.join(missing[:5])}")

    def load(sample_id: str) -> Sample:
        mask = cv2.imread(str(masks[sample_id]), cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise DatasetError(f"cannot read mask {masks[sample_id]}")
        gt, ignore = decode_grabcut_mask(mask)
        return _check_pair(sample_id, read_rgb(images[sample_id]), gt, ignore)

    return Dataset(root.name, sorted(masks), load)


# --- SBD ---------------------------------------------------------------------------------------------
def _is_sbd_layout(root: Path) -> bool:
    return (root / "img").is_dir() and (root / "inst").is_dir()


def _split_names(path: Path) -> list[str]:
    if not path.is_file():
        raise DatasetError(f"split file not found: {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


@register_loader("sbd", _is_sbd_layout)
def open_sbd(root: Path) -> Dataset:
    """SBD test split ``val.txt``; one sample per instance id found in ``GTinst.Segmentation``."""
    from scipy.io import loadmat

    def read_instances(name: str) -> np.ndarray:
        mat = loadmat(str(root / "inst" / f"{name}.mat"), squeeze_me=True, struct_as_record=False)
        return np.asarray(mat["GTinst"].Segmentation, dtype=np.int32)

    ids: list[str] = []
    for name in _split_names(root / "val.txt"):
        inst = read_instances(name)
        ids.extend(f"{name}#{int(v)}" for v in np.unique(inst) if v > 0)

    def load(sample_id: str) -> Sample:
        name, _, value = sample_id.rpartition("#")
        inst = read_instances(name)
        gt = inst == int(value)
        return _check_pair(sample_id, read_rgb(root / "img" / f"{name}.jpg"), gt, np.zeros_like(gt))

    return Dataset(root.name, ids, load)


# --- PASCAL VOC --------------------------------------------------------------------------------------
def _is_voc_layout(root: Path) -> bool:
    return (root / "JPEGImages").is_dir() and (root / "SegmentationObject").is_dir()


@register_loader("voc", _is_voc_layout)
def open_voc(root: Path) -> Dataset:
    """PASCAL VOC ``ImageSets/Segmentation/val.txt``; one sample per instance index, 255 = ignore."""
    from PIL import Image

    def read_indices(name: str) -> np.ndarray:
        with Image.open(root / "SegmentationObject" / f"{name}.png") as img:
            if img.mode != "P":
                raise DatasetError(f"{name}.png: expected a palette PNG of instance indices, got {img.mode}")
            return np.asarray(img, dtype=np.uint8)

    ids: list[str] = []
    for name in _split_names(root / "ImageSets" / "Segmentation" / "val.txt"):
        indices = read_indices(name)
        ids.extend(f"{name}#{int(v)}" for v in np.unique(indices) if 0 < v < 255)

    def load(sample_id: str) -> Sample:
        name, _, value = sample_id.rpartition("#")
        indices = read_indices(name)
        return _check_pair(sample_id, read_rgb(root / "JPEGImages" / f"{name}.jpg"),
                           indices == int(value), indices == 255)

    return Dataset(root.name, ids, load)
