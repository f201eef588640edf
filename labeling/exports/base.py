"""Pieces shared by the format writers: the result type, progress reporting, zips and image bytes."""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Callable, Protocol

from labeling.exports.source import ExportData, ExportImage
from labeling.models import Image

ProgressFn = Callable[[float], None]


@dataclass(frozen=True)
class ExportResult:
    """A finished export: suggested file name, MIME type and the bytes (JSON or zip)."""

    filename: str
    content_type: str
    data: bytes


class FormatWriter(Protocol):
    """Signature of a format writer registered in `labeling.exports.FORMATS`."""

    def __call__(self, data: ExportData, *, include_images: bool, progress: ProgressFn) -> ExportResult: ...


def no_progress(fraction: float) -> None:
    """Default progress callback (does nothing)."""


def slug(text: str) -> str:
    """File-name-safe form of a project name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._") or "project"


def image_bytes(image: ExportImage) -> bytes:
    """The stored file of an export image (read through Django storage)."""
    storage = Image._meta.get_field("file").storage
    with storage.open(image.storage_name, "rb") as fh:
        return fh.read()


class ZipBuilder:
    """An in-memory deflated zip; `add` writes one member, `result` closes and returns the bytes."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._zip = zipfile.ZipFile(self._buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)

    def add(self, name: str, data: bytes | str, *, compress: bool = True) -> None:
        payload = data.encode("utf-8") if isinstance(data, str) else data
        self._zip.writestr(name, payload, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)

    def result(self) -> bytes:
        self._zip.close()
        return self._buffer.getvalue()


def add_images(zip_builder: ZipBuilder, data: ExportData, folder: str) -> None:
    """Copy every exported image's stored file into `folder/<file_name>` (stored, not recompressed)."""
    for image in data.images:
        zip_builder.add(f"{folder}/{image.file_name}", image_bytes(image), compress=False)
