"""Reads about COCO import jobs."""
from __future__ import annotations

from typing import Any

from labeling.errors import NotFound
from labeling.models import ImportJob
from labeling.permissions import Action, require


def import_job_get(*, user: Any, job_id: int) -> ImportJob:
    """The import job if the user may import into its project; NotFound (404) when it does not exist or the
    user is no member, PermissionDenied (403) for members without the import right."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound("Import not found.")
    try:
        require(user, job.project_id, Action.IMPORT)
    except NotFound:
        raise NotFound("Import not found.") from None
    return job
