"""A labelling project whose accepted images are synthetic cells (`blob_data`), for the adaptation tests."""
from __future__ import annotations

import hashlib
import io

from django.core.files.base import ContentFile
from PIL import Image as PILImage

from blob_data import blob_picture
from labeling.masks import mask_to_rle, rle_area, rle_bbox
from labeling.models import Annotation, Image, ImageStatus, Label, Project


def add_cell_images(project: Project, label: Label, count: int, *, first_seed: int = 0,
                    status: str = ImageStatus.ACCEPTED) -> list[Image]:
    """`count` 96×96 pictures with 3 cells each, stored as the project's images with one annotation per cell."""
    images = []
    for i in range(count):
        picture, masks = blob_picture(first_seed + i)
        buf = io.BytesIO()
        PILImage.fromarray(picture).save(buf, format="PNG")
        data = buf.getvalue()
        checksum = hashlib.sha256(data).hexdigest()
        image = Image(project=project, original_name=f"cells{first_seed + i}.png", checksum=checksum, status=status)
        image.file.save(f"cells{first_seed + i}.png", ContentFile(data), save=False)
        image.width, image.height = picture.shape[1], picture.shape[0]
        image.save()
        for mask in masks:
            rle = mask_to_rle(mask)
            Annotation.objects.create(image=image, label=label, rle=rle, bbox=rle_bbox(rle), area=rle_area(rle),
                                      clicks=[])
        images.append(image)
    return images
