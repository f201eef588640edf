"""Pieces shared by the format writers: the result type, progress reporting, and files written piece by piece.

Exports never hold the whole result in memory: a writer streams into an anonymous temporary file (a zip
written member by member, or JSON written entry by entry) and hands that file on, open at offset 0.
Memory stays at one image's worth (its file copied in chunks, its masks) plus a constant, whatever the
project's size.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from typing import IO, Callable, Protocol

from django.conf import settings

from labeling.exports.source import ExportData, ExportImage
from labeling.models import Image

ProgressFn = Callable[[float], None]
CHUNK = 64 * 1024  # bytes per copy step: the buffer a copy holds, whatever the size of what it copies


@dataclass
class ExportResult:
    """A finished export: suggested file name, MIME type and the file (a temporary file open at offset 0,
    deleted once closed; whoever receives the result closes it)."""

    filename: str
    content_type: str
    file: IO[bytes]
    size: int

    @property
    def data(self) -> bytes:
        """The whole file as bytes: reads it into memory, so only for tests and known-small exports."""
        self.file.seek(0)
        try:
            return self.file.read()
        finally:
            self.file.seek(0)

    def close(self) -> None:
        """Delete the temporary file."""
        self.file.close()


class FormatWriter(Protocol):
    """Signature of a format writer registered in `labeling.exports.FORMATS`."""

    def __call__(self, data: ExportData, *, include_images: bool, progress: ProgressFn) -> ExportResult: ...


def no_progress(fraction: float) -> None:
    """Default progress callback (does nothing)."""


def slug(text: str) -> str:
    """File-name-safe form of a project name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._") or "project"


def export_filename(project_name: str, fmt: str, extension: str) -> str:
    """The name an export downloads under: "<project slug>-<format>.<json|zip>"."""
    return f"{slug(project_name)}-{fmt}.{extension.lstrip('.')}"


def temporary_file() -> IO[bytes]:
    """An anonymous binary temporary file (in FILE_UPLOAD_TEMP_DIR when set), deleted when closed."""
    return tempfile.TemporaryFile(dir=getattr(settings, "FILE_UPLOAD_TEMP_DIR", None) or None)


def finish(out: IO[bytes], filename: str, content_type: str) -> ExportResult:
    """Wrap a fully written temporary file as the result (rewound to offset 0)."""
    out.flush()
    size = out.tell()
    out.seek(0)
    return ExportResult(filename=filename, content_type=content_type, file=out, size=size)


class Spool:
    """Text written in pieces to a temporary file, copied out later in chunks (for a zip member or a JSON
    array that cannot be written to its final place yet)."""

    def __init__(self) -> None:
        self._file = temporary_file()

    def write(self, text: str) -> None:
        self._file.write(text.encode("utf-8"))

    def copy_to(self, target: IO[bytes]) -> None:
        """Write everything spooled so far to `target`, then delete the spool."""
        self._file.flush()
        self._file.seek(0)
        shutil.copyfileobj(self._file, target, CHUNK)
        self._file.close()


class ZipStream:
    """A deflated zip written member by member to a temporary file; `finish` returns it as the result."""

    def __init__(self) -> None:
        self._out = temporary_file()
        self._zip = zipfile.ZipFile(self._out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)

    def add(self, name: str, data: bytes | str, *, compress: bool = True) -> None:
        """One small member written from memory (a label file, a mask PNG)."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        self._zip.writestr(name, payload, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)

    def open(self, name: str, *, size: int | None = None, compress: bool = True) -> IO[bytes]:
        """A member to write in pieces (close it before the next member); `size` (bytes) when known, else the
        member is written with ZIP64 sizes so it may grow past 4 GiB."""
        info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        if size is not None:
            info.file_size = size
        return self._zip.open(info, "w", force_zip64=size is None)

    def add_file(self, name: str, source: IO[bytes], *, size: int | None = None, compress: bool = True) -> None:
        """A member copied from an open file in chunks."""
        with self.open(name, size=size, compress=compress) as member:
            shutil.copyfileobj(source, member, CHUNK)

    def add_spool(self, name: str, spool: Spool) -> None:
        """A member copied from a spool (which is deleted afterwards)."""
        with self.open(name) as member:
            spool.copy_to(member)

    def finish(self, filename: str) -> ExportResult:
        """Close the zip (writes the central directory) and return the file."""
        self._zip.close()
        return finish(self._out, filename, "application/zip")


def add_image_file(archive: ZipStream, image: ExportImage, folder: str) -> None:
    """Copy one export image's stored file into `folder/<file_name>` (stored, not recompressed), in chunks."""
    storage = Image._meta.get_field("file").storage
    with storage.open(image.storage_name, "rb") as source:
        size = getattr(source, "size", None)
        archive.add_file(f"{folder}/{image.file_name}", source, size=size if isinstance(size, int) else None,
                         compress=False)
