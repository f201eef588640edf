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


def directory_only_zip(entries: int, *, declared: int | None = None, zip64: bool = False,
                       name_bytes: int = 1) -> bytes:
    """A zip made of one local header, then a central directory of `entries` empty stored members (all
    pointing at that header: enough for `zipfile` to list them) and an end record declaring `declared`
    entries (default: the true count). `zip64` writes the zip64 end record and locator, with 0xFFFF in the
    classic record's count."""
    import struct

    declared = entries if declared is None else declared
    names = [f"{i:0{name_bytes}d}"[-name_bytes:].encode() for i in range(entries)]
    first = names[0] if names else b"0"
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(first), 0) + first
    directory = b"".join(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0,
                                     len(name), 0, 0, 0, 0, 0, 0) + name for name in names)
    size, offset = len(directory), len(local)
    tail = b""
    if zip64:
        record = struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, declared, declared, size, offset)
        locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, offset + size, 1)
        tail = record + locator
        declared = 0xFFFF
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, min(declared, 0xFFFF), min(declared, 0xFFFF), size,
                      offset, 0)
    return local + directory + tail + end
