"""Small JPEG thumbnails of images for the admin, made with Pillow on first use and cached in storage."""
from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from labeling.models import Image

THUMB_SIDE = 96


def thumbnail_path(*, image: Image, side: int = THUMB_SIDE) -> str:
    """Storage path of the cached thumbnail (MEDIA_ROOT/thumbs/...); the checksum keys out stale copies."""
    return f"thumbs/{image.project_id}/{image.pk}-{image.checksum[:16]}-{side}.jpg"


def thumbnail_get_or_create(*, image: Image, side: int = THUMB_SIDE) -> bytes:
    """JPEG bytes of the image scaled to fit `side`×`side` (aspect kept); generated once, then read from cache."""
    path = thumbnail_path(image=image, side=side)
    if default_storage.exists(path):
        with default_storage.open(path, "rb") as handle:
            return handle.read()
    with image.file.open("rb") as handle, PILImage.open(handle) as picture:
        picture.draft("RGB", (side, side))  # fast JPEG downscale when possible
        small = picture.convert("RGB")
        small.thumbnail((side, side))
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=80)
    data = buf.getvalue()
    default_storage.save(path, ContentFile(data))
    return data
