"""Export jobs: create one (and enqueue the Celery task once the row is committed), run one.

`export_job_run` is idempotent: it claims the job with a conditional `UPDATE ... WHERE status =
'pending'`, so a task delivered twice (acks_late, worker lost) runs the export once. Progress is written
to `ExportJob.progress` (0..1) at most every `PROGRESS_EVERY` seconds; the result file goes to
`ExportJob.file` through Django storage. Failures set status "failed" with a message in `error`.

Setting CLICKLABEL_EXPORT_QUEUE (optional) routes export tasks to their own Celery queue, so batch work
does not wait behind or delay interactive clicks.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from labeling.errors import ClickLabelError
from labeling.exports import check_format, export_project
from labeling.exports.source import validate_filters
from labeling.models import ExportJob, ExportStatus, Project
from labeling.permissions import Action, require

log = logging.getLogger(__name__)
PROGRESS_EVERY = 1.0


def export_job_create(*, project: Project, user: Any, fmt: str, statuses: list[str] | None = None,
                      label_ids: list[int] | None = None, include_images: bool = False) -> ExportJob:
    """Check permission (export), format and filters; store a pending ExportJob and enqueue it on commit."""
    require(user, project, Action.EXPORT)
    check_format(fmt)
    statuses, label_ids = validate_filters(project, statuses, label_ids)
    with transaction.atomic():
        job = ExportJob.objects.create(
            project=project, requested_by=user if getattr(user, "is_authenticated", False) else None, format=fmt,
            options={"statuses": statuses, "labels": label_ids, "include_images": bool(include_images)})
        transaction.on_commit(lambda: enqueue_export(job.pk))
    return job


def enqueue_export(job_id: int) -> None:
    """Send `labeling.tasks.run_export_job(job_id)` to Celery (queue CLICKLABEL_EXPORT_QUEUE if set)."""
    from labeling.tasks import run_export_job  # the task module imports this one

    queue = getattr(settings, "CLICKLABEL_EXPORT_QUEUE", None)
    options = {"queue": queue} if queue else {}
    run_export_job.apply_async(args=[job_id], **options)


class _ProgressWriter:
    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            ExportJob.objects.filter(pk=self.job_id).update(progress=round(min(max(fraction, 0.0), 1.0) * 0.95, 3))


def export_job_run(job_id: int, *, reclaim_running: bool = False) -> ExportJob | None:
    """Run a pending export job to completion; returns the job (None if it does not exist).

    A job that is not pending (already running or finished) is returned untouched, except that
    `reclaim_running` (a redelivered task: its first worker died mid-export) also takes over a running job.
    """
    claimable = [ExportStatus.PENDING, ExportStatus.RUNNING] if reclaim_running else [ExportStatus.PENDING]
    claimed = (ExportJob.objects.filter(pk=job_id, status__in=claimable)
               .update(status=ExportStatus.RUNNING, progress=0.0))
    job = ExportJob.objects.select_related("project").filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    options = job.options or {}
    try:
        result = export_project(job.project, job.format, statuses=options.get("statuses"),
                                label_ids=options.get("labels"), include_images=bool(options.get("include_images")),
                                progress=_ProgressWriter(job.pk))
        job.file.save(f"{job.pk}-{result.filename}", ContentFile(result.data), save=False)
        job.status, job.progress, job.error = ExportStatus.DONE, 1.0, ""
    except ClickLabelError as exc:
        job.status, job.error = ExportStatus.FAILED, exc.message
    except Exception as exc:  # reported on the job; the traceback goes to the log
        log.exception("export job %s failed", job_id)
        job.status, job.error = ExportStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}"
    job.finished_at = timezone.now()
    job.save(update_fields=["file", "status", "progress", "error", "finished_at"])
    return job
