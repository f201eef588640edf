"""A project's accepted objects as files the engine reads: one 8-bit mask PNG per annotation of an accepted
image (0 background, 255 object), the image file from media storage as it is."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from inference.adaptation.split import ObjectRef
from labeling.masks import InvalidMask, rle_to_mask
from labeling.models import Annotation, ImageStatus, Project

__all__ = ["accepted_objects"]


def accepted_objects(project: Project, dest: Path, check: Callable[[], None] = lambda: None) -> list[ObjectRef]:
    """Write `dest/<image id>_<annotation id>.png` for every annotation of the project's accepted images and
    return them as objects keyed by image id. `check()` runs every 50 annotations (the cancel check).
    Images without a local file (remote storage) are skipped."""
    dest.mkdir(parents=True, exist_ok=True)
    rows = (Annotation.objects.filter(image__project=project, image__status=ImageStatus.ACCEPTED)
            .select_related("image").order_by("image_id", "id"))
    objects = []
    for index, annotation in enumerate(rows.iterator()):
        if index % 50 == 0:
            check()
        image = annotation.image
        try:
            image_path = Path(image.file.path)
        except (NotImplementedError, ValueError):
            continue
        try:
            mask = rle_to_mask(annotation.rle)
        except InvalidMask:
            continue
        if not mask.any() or mask.shape != (image.height, image.width):
            continue
        object_id = f"{image.pk}_{annotation.pk}"
        mask_path = dest / f"{object_id}.png"
        cv2.imwrite(str(mask_path), np.where(mask, 255, 0).astype(np.uint8))
        objects.append(ObjectRef(object_id, str(image.pk), image_path, mask_path))
    return objects
