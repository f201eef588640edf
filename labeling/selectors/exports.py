"""Reads about exports: one export job the user may see, and a small project exported at once."""
from __future__ import annotations

from typing import Any

from django.conf import settings

from labeling.errors import ClickLabelError, NotFound
from labeling.exports import ExportResult, check_format, export_filename, export_project
from labeling.exports.source import validate_filters
from labeling.models import ExportJob, Image, Project
from labeling.permissions import Action, require

DEFAULT_DIRECT_EXPORT_MAX_IMAGES = 200


def export_job_get(*, user: Any, job_id: int) -> ExportJob:
    """The export job if the user may export its project; NotFound (404) when it does not exist or the user
    is no member, PermissionDenied (403) for members without the export right."""
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound("Export not found.")
    try:
        require(user, job.project_id, Action.EXPORT)
    except NotFound:
        raise NotFound("Export not found.") from None
    return job


def export_job_filename(*, job: ExportJob) -> str:
    """The name a finished job's file downloads under: "<project>-<format>.<json|zip>" (the stored name is
    random)."""
    extension = job.file.name.rsplit(".", 1)[-1] if job.file and "." in job.file.name else "zip"
    return export_filename(job.project.name, job.format, extension)


def project_export(*, project: Project, fmt: str, statuses: list[str] | None = None,
                   label_ids: list[int] | None = None, include_images: bool = False) -> ExportResult:
    """The project exported in `fmt` at once (callers authorize); images with the given statuses, annotations
    with the given label ids (None = all).

    The result is a temporary file the caller closes (a streaming response does). Raises ClickLabelError
    400 on bad format or filters, 413 ("export_too_large") when more images than
    CLICKLABEL_DIRECT_EXPORT_MAX_IMAGES (default 200) would be exported: those go through an export job.
    """
    check_format(fmt)
    statuses, label_ids = validate_filters(project, statuses, label_ids)
    images = Image.objects.filter(project=project)
    if statuses:
        images = images.filter(status__in=statuses)
    limit = int(getattr(settings, "CLICKLABEL_DIRECT_EXPORT_MAX_IMAGES", DEFAULT_DIRECT_EXPORT_MAX_IMAGES))
    count = images.count()
    if count > limit:
        raise ClickLabelError(f"{count} images are more than {limit} for a direct export; start an export job "
                              f"with POST /api/projects/{project.pk}/exports/.", code="export_too_large",
                              status=413, details={"images": count, "limit": limit})
    return export_project(project, fmt, statuses=statuses, label_ids=label_ids, include_images=include_images)
