"""Builders of good and bad upload files for the upload tests (all tiny, made in memory)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image as PILImage


def rgb_array(width: int = 24, height: int = 16, seed: int = 0) -> np.ndarray:
    """uint8 (H, W, 3) random colours."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def encode(img: PILImage.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def png(width: int = 24, height: int = 16, seed: int = 0) -> bytes:
    return encode(PILImage.fromarray(rgb_array(width, height, seed)), "PNG")


def jpeg(width: int = 24, height: int = 16, seed: int = 0, **options) -> bytes:
    return encode(PILImage.fromarray(rgb_array(width, height, seed)), "JPEG", **options)


def zip_of(members: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    """A deflated zip with the given members (names used verbatim) and optional symlink members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return buf.getvalue()


def media_files() -> set[str]:
    """Every file under MEDIA_ROOT (relative paths), to prove an upload wrote nothing."""
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
