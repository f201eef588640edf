"""Data-set folders (`images/<id>.*` + `masks/<id>.png`) made of symbolic links, as the trainer and the
evaluation read them; and the objects of a folder data set, grouped by image."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from inference.adaptation.split import ObjectRef
from inference.training.data import list_pairs, split_pairs
from inference.utils.files import resolve_link_file

__all__ = ["link_folder", "folder_objects", "generic_pairs", "GENERIC_VAL_IMAGES"]

GENERIC_VAL_IMAGES = 300   # the first 300 of a seed-0 permutation of a generic set are its validation images


def _link(target: Path, link: Path) -> None:
    link.symlink_to(Path(os.path.realpath(resolve_link_file(target))))


def link_folder(objects: list[ObjectRef], dest: str | Path,
                extra: list[tuple[str, Path, Path]] | None = None) -> Path:
    """Make `dest/images/<object_id><suffix>` and `dest/masks/<object_id>.png` links to each object's files
    (and to each `(id, image, mask)` of `extra`); returns `dest`. FileExistsError if `dest` exists."""
    dest = Path(dest)
    images, masks = dest / "images", dest / "masks"
    images.mkdir(parents=True)
    masks.mkdir()
    rows = [(o.object_id, o.image_path, o.mask_path) for o in objects] + list(extra or [])
    for object_id, image, mask in rows:
        suffix = resolve_link_file(image).suffix.lower() or ".png"
        _link(Path(image), images / f"{object_id}{suffix}")
        _link(Path(mask), masks / f"{object_id}.png")
    return dest


def folder_objects(root: str | Path) -> list[ObjectRef]:
    """Every (image, mask) pair of a folder data set as an object; objects whose image files are one file
    (the same inode through hard links, symbolic links or link files) share an image key."""
    objects = []
    for image, mask in list_pairs(root):
        target = Path(os.path.realpath(resolve_link_file(image)))
        st = target.stat()
        objects.append(ObjectRef(image.stem, f"{st.st_dev}:{st.st_ino}", image, mask))
    return objects


def generic_pairs(root: str | Path, count: int, seed: int) -> list[tuple[str, Path, Path]]:
    """`count` (id, image, mask) rows drawn without replacement (seeded) from the training part of a generic
    folder data set: its first `GENERIC_VAL_IMAGES` of a seed-0 permutation are left out, as the trainer's
    validation split leaves them out (they stay usable to check that a model did not forget)."""
    pairs = list_pairs(root)
    n_val = GENERIC_VAL_IMAGES if len(pairs) > 2 * GENERIC_VAL_IMAGES else 0
    train, _ = split_pairs(pairs, n_val, 0)
    count = min(count, len(train))
    picked = np.random.default_rng(seed).choice(len(train), size=count, replace=False)
    return [(f"generic_{train[i][0].stem}", train[i][0], train[i][1]) for i in sorted(picked.tolist())]
