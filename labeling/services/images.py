"""Adding images to a project: loose files or one zip, every file checked, the report says what happened.

Two phases so the database transaction stays short (SQLite takes a write lock for its duration):
1. each file is validated and normalised (`labeling.uploads.validate_image`) and the stored bytes are
   spooled to a temporary file; refusals (bad image, duplicate, unsafe zip member...) go to the report;
2. all accepted files are written to storage first, outside any transaction, then their `Image` rows are
   created in ONE short transaction (a bulk insert); if anything fails, the rows roll back and every file
   already written is deleted, so nothing is left half-written and no write lock is held during file I/O.

Zips are read member by member with these refusals: unsafe paths (absolute, drive letters, `..`),
symbolic links, nested archives, encrypted members, macOS metadata; the whole zip is refused when it is
corrupt, too big (CLICKLABEL_MAX_ZIP_BYTES), has too many members (CLICKLABEL_MAX_ZIP_MEMBERS, default
10,000), a central directory over CLICKLABEL_MAX_ZIP_DIRECTORY_BYTES (default 16 MiB) or would expand to too
many bytes (CLICKLABEL_MAX_ZIP_UNCOMPRESSED_BYTES, default 4 GiB) — a zip bomb. The member count is read
from the zip's end record (zip64 included) and the directory's headers are counted before `zipfile` parses
the central directory, so a refused zip costs a few reads, not a listing. Declared sizes are enforced by
`zipfile` (a member cannot yield more than its header says).
"""
from __future__ import annotations

import io
import posixpath
import stat
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Iterable

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction

from labeling.errors import Conflict, UploadRejected
from labeling.models import Image, Project
from labeling.permissions import Action, require
from labeling.uploads import (ValidatedImage, ZipStructureError, unsafe_member_path, validate_image, zip_directory,
                              zip_directory_count)

DEFAULT_MAX_ZIP_MEMBERS = 10_000
DEFAULT_MAX_ZIP_UNCOMPRESSED_BYTES = 4 * 1024 ** 3
DEFAULT_MAX_ZIP_DIRECTORY_BYTES = 16 * 1024 * 1024
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar", ".zst")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


@dataclass(frozen=True)
class AcceptedImage:
    """One stored image: the client's name, the new Image id, its size and the conversions made."""

    name: str
    image_id: int
    width: int
    height: int
    note: str = ""


@dataclass(frozen=True)
class RefusedFile:
    """One file that was not stored, with a machine code and a human reason."""

    name: str
    code: str
    reason: str


@dataclass
class UploadReport:
    """What an upload did: `accepted` files (stored) and `refused` files (with reasons)."""

    accepted: list[AcceptedImage] = field(default_factory=list)
    refused: list[RefusedFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: {"accepted": [...], "refused": [...], "counts": {...}}."""
        return {"accepted": [asdict(a) for a in self.accepted], "refused": [asdict(r) for r in self.refused],
                "counts": {"accepted": len(self.accepted), "refused": len(self.refused)}}


@dataclass
class _Pending:
    name: str
    image: ValidatedImage
    spool: IO[bytes]
    checksum: str


class _Batch:
    """Collects validated files (spooled to disk) and refusals, then stores the accepted ones atomically."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.report = UploadReport()
        self.pending: list[_Pending] = []
        self._seen: dict[str, str] = {}

    def offer(self, name: str, data: bytes) -> None:
        """Validate one file; queue it for storage or record why it was refused."""
        try:
            image = validate_image(data, name)
        except UploadRejected as exc:
            self.refuse(name, exc.details.get("reason", exc.code), exc.message)
            return
        checksum = image.checksum
        if checksum in self._seen:
            self.refuse(name, "duplicate", f"{name}: same image as {self._seen[checksum]} in this upload.")
            return
        existing = (Image.objects.filter(project=self.project, checksum=checksum)
                    .values_list("id", "original_name").first())
        if existing:
            self.refuse(name, "duplicate", f"{name}: this image is already in the project "
                        f"as '{existing[1]}' (image {existing[0]}).")
            return
        self._seen[checksum] = name
        spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)
        spool.write(image.content)
        spool.seek(0)
        # Keep only metadata in memory; the bytes live in the spool.
        slim = ValidatedImage(content=b"", format=image.format, width=image.width, height=image.height,
                              note=image.note, source_format=image.source_format, notes=image.notes)
        self.pending.append(_Pending(name=name, image=slim, spool=spool, checksum=checksum))

    def refuse(self, name: str, code: str, reason: str) -> None:
        """Record a refused file."""
        self.report.refused.append(RefusedFile(name=name, code=code, reason=reason))

    def commit(self, user: Any) -> UploadReport:
        """Store every queued file, then create their Image rows in one short transaction, all or nothing;
        return the report. Files are written before the transaction (a slow store never holds the database's
        write lock) and deleted again if the rows cannot be created."""
        storage = Image._meta.get_field("file").storage
        written: list[str] = []
        rows: list[Image] = []
        pending, self.pending = self.pending, []
        try:
            for item in pending:
                draft = Image(project=self.project, checksum=item.checksum)
                path = storage.save(Image._meta.get_field("file").generate_filename(
                    draft, f"upload{item.image.extension}"), File(item.spool))
                written.append(path)
                rows.append(Image(project=self.project, original_name=item.name[:255], checksum=item.checksum,
                                  file=path, width=item.image.width, height=item.image.height,
                                  uploaded_by=_user_or_none(user)))
            with transaction.atomic():
                Image.objects.bulk_create(rows, batch_size=500)
        except BaseException as exc:
            for path in written:
                storage.delete(path)
            if isinstance(exc, IntegrityError):
                raise Conflict("Another upload added the same image at the same time; nothing was stored. "
                               "Retry the upload.") from exc
            raise
        finally:
            for item in pending:
                item.spool.close()
        self.report.accepted.extend(
            AcceptedImage(name=item.name, image_id=row.pk, width=row.width, height=row.height, note=item.image.note)
            for item, row in zip(pending, rows))
        return self.report


def _user_or_none(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _clean_name(name: str) -> str:
    """The client's file name without directories (either slash) or control characters; "image" if empty."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:255] or "image"


def image_upload_files(*, project: Project, files: Iterable[tuple[str, bytes | IO[bytes]]],
                       user: Any) -> UploadReport:
    """Validate and store loose image files `(name, bytes or binary file)`; a zip among them is expanded.

    Returns the UploadReport (accepted with new Image ids, refused with reasons). Raises Conflict when a
    concurrent upload stored the same image first (nothing stored then), NotFound / PermissionDenied
    unless the user may manage the project's images. A refused zip (corrupt, bomb...) is one refused entry.
    """
    require(user, project, Action.MANAGE_IMAGES)
    batch = _Batch(project)
    max_bytes = int(settings.CLICKLABEL_MAX_UPLOAD_BYTES)
    for name, content in files:
        handle = io.BytesIO(bytes(content)) if isinstance(content, (bytes, bytearray, memoryview)) else content
        handle.seek(0)
        head = handle.read(4)
        handle.seek(0, io.SEEK_END)
        size = handle.tell()
        handle.seek(0)
        if head in ZIP_MAGIC:
            try:
                _offer_zip(batch, handle, size, zip_label=_clean_name(name))
            except UploadRejected as exc:  # one bad zip does not sink the other files of the request
                batch.refuse(_clean_name(name), exc.details.get("reason", exc.code), exc.message)
        elif size > max_bytes:
            batch.refuse(_clean_name(name), "too_large", f"{_clean_name(name)}: the file has {size:,} bytes, more "
                         f"than the limit of {max_bytes:,} bytes.")
        else:
            batch.offer(_clean_name(name), handle.read())
    return batch.commit(user)


def image_upload_zip(*, project: Project, archive: bytes | IO[bytes], user: Any) -> UploadReport:
    """Validate and store every image in one zip (bytes or a seekable binary file).

    Raises UploadRejected (400) when the zip as a whole is refused (corrupt, too big, too many members,
    zip bomb); member-level problems are listed in the report's `refused`. Needs the manage-images right.
    """
    require(user, project, Action.MANAGE_IMAGES)
    if isinstance(archive, (bytes, bytearray, memoryview)):
        handle: IO[bytes] = io.BytesIO(bytes(archive))
    else:
        handle = archive
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    batch = _Batch(project)
    _offer_zip(batch, handle, size, zip_label="zip")
    return batch.commit(user)


def _zip_reject(label: str, reason: str, message: str) -> UploadRejected:
    return UploadRejected(f"{label}: {message}", details={"file": label, "reason": reason})


def _offer_zip(batch: _Batch, handle: IO[bytes], size: int, *, zip_label: str) -> None:
    max_zip = int(settings.CLICKLABEL_MAX_ZIP_BYTES)
    if size == 0:
        raise _zip_reject(zip_label, "empty", "the zip file is empty.")
    if size > max_zip:
        raise _zip_reject(zip_label, "too_large", f"the zip has {size:,} bytes, more than the limit of {max_zip:,}.")
    _check_zip_directory(handle, size, zip_label)
    handle.seek(0)
    try:
        archive = zipfile.ZipFile(handle)
    except Exception as exc:  # zipfile raises BadZipFile, NotImplementedError, ValueError, EOFError... on corrupt data
        raise _zip_reject(zip_label, "corrupt_zip", f"not a readable zip archive ({exc}).") from exc
    with archive:
        members = [info for info in archive.infolist() if not info.filename.endswith("/")]  # is_dir() fails on ""
        _check_zip_totals(members, zip_label)
        for info in members:
            _offer_member(batch, archive, info)


def _check_zip_directory(handle: IO[bytes], size: int, label: str) -> None:
    """Refuse a zip whose end record declares, or whose central directory holds, more entries than the limit
    (or a directory over its byte limit), reading only the end record and the 46-byte entry headers."""
    max_members = int(getattr(settings, "CLICKLABEL_MAX_ZIP_MEMBERS", DEFAULT_MAX_ZIP_MEMBERS))
    max_directory = int(getattr(settings, "CLICKLABEL_MAX_ZIP_DIRECTORY_BYTES", DEFAULT_MAX_ZIP_DIRECTORY_BYTES))
    try:
        directory = zip_directory(handle, size)
        if directory.entries > max_members:
            raise _too_many_members(label, directory.entries, max_members)
        if directory.size > max_directory:
            raise _zip_reject(label, "too_large", f"the zip's directory has {directory.size:,} bytes, more "
                              f"than the limit of {max_directory:,}.")
        counted = zip_directory_count(handle, directory, stop_after=max_members)
    except ZipStructureError as exc:
        raise _zip_reject(label, "corrupt_zip", f"not a readable zip archive ({exc}).") from exc
    if counted > max_members:
        raise _too_many_members(label, counted, max_members, at_least=True)


def _too_many_members(label: str, count: int, limit: int, *, at_least: bool = False) -> UploadRejected:
    if at_least:
        return _zip_reject(label, "too_many_members", f"the zip's directory holds more files than the limit of "
                           f"{limit:,} (and more than its end record says).")
    return _zip_reject(label, "too_many_members", f"the zip holds {count:,} files, more than the limit of {limit:,}.")


def _check_zip_totals(members: list[zipfile.ZipInfo], label: str) -> None:
    max_members = int(getattr(settings, "CLICKLABEL_MAX_ZIP_MEMBERS", DEFAULT_MAX_ZIP_MEMBERS))
    max_total = int(getattr(settings, "CLICKLABEL_MAX_ZIP_UNCOMPRESSED_BYTES", DEFAULT_MAX_ZIP_UNCOMPRESSED_BYTES))
    if len(members) > max_members:
        raise _zip_reject(label, "too_many_members",
                          f"the zip holds {len(members):,} files, more than the limit of {max_members:,}.")
    total = sum(info.file_size for info in members)
    if total > max_total:
        packed = sum(info.compress_size for info in members)
        raise _zip_reject(label, "zip_bomb", f"the zip would expand to {total:,} bytes (from {packed:,} "
                          f"compressed), more than the limit of {max_total:,}; refused as a zip bomb.")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _offer_member(batch: _Batch, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    name = info.filename
    problem = unsafe_member_path(name)
    if problem:
        batch.refuse(name, "unsafe_path", f"{name}: refused, the path {problem} (zip-slip).")
        return
    display = posixpath.normpath(name.replace("\\", "/")).lstrip("./") or _clean_name(name)
    base = display.rsplit("/", 1)[-1]
    if display.startswith("__MACOSX/") or base.startswith("._") or base in {".DS_Store", "Thumbs.db"}:
        batch.refuse(display, "metadata", f"{display}: operating-system metadata, not an image; skipped.")
        return
    if _is_symlink(info):
        batch.refuse(display, "symlink", f"{display}: symbolic links are not followed.")
        return
    if info.flag_bits & 0x1:
        batch.refuse(display, "encrypted", f"{display}: encrypted zip members are not supported.")
        return
    if display.lower().endswith(ARCHIVE_SUFFIXES):
        batch.refuse(display, "nested_archive", f"{display}: archives inside the zip are not extracted.")
        return
    max_bytes = int(settings.CLICKLABEL_MAX_UPLOAD_BYTES)
    if info.file_size > max_bytes:
        batch.refuse(display, "too_large", f"{display}: {info.file_size:,} bytes, more than the limit of "
                     f"{max_bytes:,} bytes per image.")
        return
    try:
        with archive.open(info) as member:
            data = member.read(max_bytes + 1)
    except Exception as exc:  # BadZipFile, zlib.error, lzma/bz2 errors, NotImplementedError... on a corrupt member
        batch.refuse(display, "corrupt", f"{display}: cannot be extracted ({exc}).")
        return
    if data[:4] in ZIP_MAGIC:
        batch.refuse(display, "nested_archive", f"{display}: a zip inside the zip is not extracted.")
        return
    batch.offer(display, data)
