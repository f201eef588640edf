"""Export jobs: create one and enqueue its Celery task once the row is committed.

The task (`labeling.tasks.run_export_job`) runs the job through `labeling.exports.jobs.export_job_run`:
services import tasks, tasks call the export engine, and nothing imports back.
Setting CLICKLABEL_EXPORT_QUEUE (optional) routes export tasks to their own Celery queue, so batch work
does not wait behind or delay interactive clicks.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from labeling.exports import check_format
from labeling.exports.source import validate_filters
from labeling.models import ExportJob, Project
from labeling.permissions import Action, require
from labeling.tasks import run_export_job


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
        transaction.on_commit(lambda: _enqueue(job_id=job.pk))
    return job


def _enqueue(*, job_id: int) -> None:
    """Send `run_export_job(job_id)` to Celery (queue CLICKLABEL_EXPORT_QUEUE if set)."""
    queue = getattr(settings, "CLICKLABEL_EXPORT_QUEUE", None)
    options = {"queue": queue} if queue else {}
    run_export_job.apply_async(args=[job_id], **options)
