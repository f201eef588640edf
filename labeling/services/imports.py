"""COCO import as pre-labels (see `labeling.imports.coco` for the matching and the checks).

`import_job_create` is what the API and the admin use: the file is stored first, then the `ImportJob` row is
created in a short transaction and its Celery task enqueued once the row is committed; the task
(`labeling.tasks.run_import_job` → `labeling.imports.jobs.import_job_run`) writes the annotations in
chunks of short transactions with progress. A file up to CLICKLABEL_IMPORT_INLINE_BYTES (default: Django's
DATA_UPLOAD_MAX_MEMORY_SIZE) is checked before the job is queued, so a malformed small file is a 400 at
once; a larger one is checked by the job before it writes anything (and the job fails with the same message).

`coco_import` runs an import in this process, in the same chunks (management commands and tests).
Setting CLICKLABEL_IMPORT_QUEUE (else CLICKLABEL_EXPORT_QUEUE, else Celery's default) routes the tasks.
"""
from __future__ import annotations

import io
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction

from labeling.errors import ClickLabelError
from labeling.imports.coco import (CocoLimits, CocoPlan, ImportedAnnotation, ImportReport, SkippedItem, coco_check,
                                   coco_import_run, coco_parse)
from labeling.models import ImportJob, Project
from labeling.permissions import Action, require
from labeling.tasks import run_import_job

DEFAULT_MAX_IMPORT_BYTES = 256 * 1024 * 1024

__all__ = ["ImportReport", "ImportedAnnotation", "SkippedItem", "coco_import", "import_job_create"]


def coco_import(*, project: Project, coco: Any, user: Any) -> ImportReport:
    """Import the annotations of a COCO instance-segmentation dict into `project` as pre-labels, here and now.

    Raises ClickLabelError (400, "invalid_coco") when the file's structure is wrong or over the caps, before
    anything is written; NotFound / PermissionDenied without the import right. Per-item problems are
    listed in the report's `skipped`. Writes in chunks of short transactions.
    """
    require(user, project, Action.IMPORT)
    limits = CocoLimits.from_settings()
    coco_check(coco, limits)
    plan = CocoPlan(project, coco)
    report = ImportReport()
    plan.start(report)
    return coco_import_run(coco=coco, plan=plan, user=user, report=report, limits=limits)


def import_job_create(*, project: Project, user: Any, data: bytes | IO[bytes], name: str = "") -> ImportJob:
    """Check the import right and the file's size (and, for a small file, its content), store the file, create
    a pending ImportJob and enqueue its task once the row is committed.

    Raises NotFound / PermissionDenied, ClickLabelError 413 ("invalid_coco") over CLICKLABEL_MAX_IMPORT_BYTES,
    400 ("invalid_coco") for a small file that is not a valid COCO object.
    """
    require(user, project, Action.IMPORT)
    handle: IO[bytes] = io.BytesIO(bytes(data)) if isinstance(data, (bytes, bytearray, memoryview)) else data
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    limit = int(getattr(settings, "CLICKLABEL_MAX_IMPORT_BYTES", DEFAULT_MAX_IMPORT_BYTES))
    if size > limit:
        raise ClickLabelError(f"The COCO file has {size:,} bytes, more than {limit:,}.", code="invalid_coco",
                              status=413, details={"bytes": size, "limit": limit})
    inline = int(getattr(settings, "CLICKLABEL_IMPORT_INLINE_BYTES", settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    if size <= inline:
        coco_check(coco_parse(handle.read()), CocoLimits.from_settings())
    elif _first_byte(handle) != b"{":
        raise ClickLabelError("The file is not a COCO JSON object.", code="invalid_coco")
    handle.seek(0)
    field = ImportJob._meta.get_field("file")
    path = field.storage.save(field.generate_filename(None, "coco.json"), File(handle))
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                project=project, requested_by=user if getattr(user, "is_authenticated", False) else None,
                file=path, file_name=str(name)[:255], size=size)
            transaction.on_commit(lambda: _enqueue(job_id=job.pk))
    except BaseException:
        field.storage.delete(path)
        raise
    return job


def _first_byte(handle: IO[bytes]) -> bytes:
    head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1]


def _enqueue(*, job_id: int) -> None:
    """Send `run_import_job(job_id)` to Celery (queue CLICKLABEL_IMPORT_QUEUE or CLICKLABEL_EXPORT_QUEUE if set)."""
    queue = getattr(settings, "CLICKLABEL_IMPORT_QUEUE", None) or getattr(settings, "CLICKLABEL_EXPORT_QUEUE", None)
    options = {"queue": queue} if queue else {}
    run_import_job.apply_async(args=[job_id], **options)
