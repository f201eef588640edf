"""Reads about adapted models: a project's versions, its adaptation jobs, and which names it may run."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from inference.adaptation.names import parse_version_name
from labeling.errors import NotFound
from labeling.models import AdaptationJob, AdaptationStatus, ModelDecision, ModelVersion, Project
from labeling.permissions import Action, require

ACTIVE_STATUSES = (AdaptationStatus.PENDING, AdaptationStatus.RUNNING)


def model_version_list(*, project: Project) -> QuerySet[ModelVersion]:
    """The project's versions, newest first (promoted and refused)."""
    return ModelVersion.objects.filter(project=project).order_by("-number")


def model_version_get_promoted(*, project_id: int, name: str) -> ModelVersion | None:
    """The promoted version called `name` of the project (it has a weights file), else None."""
    parsed = parse_version_name(name)
    if parsed is None or parsed[0] != project_id:
        return None
    return (ModelVersion.objects.filter(project_id=project_id, name=name, decision=ModelDecision.PROMOTED)
            .exclude(file="").first())


def adaptation_job_get(*, user: Any, job_id: int) -> AdaptationJob:
    """The job if the user may see its project; NotFound (404) otherwise."""
    job = AdaptationJob.objects.select_related("project").filter(pk=job_id).first()
    if job is None:
        raise NotFound("Adaptation job not found.")
    try:
        require(user, job.project_id, Action.VIEW)
    except NotFound:
        raise NotFound("Adaptation job not found.") from None
    return job


def adaptation_job_list(*, project: Project) -> QuerySet[AdaptationJob]:
    """The project's adaptation jobs, newest first."""
    return AdaptationJob.objects.filter(project=project).order_by("-created_at", "-id")


def adaptation_job_active(*, project_id: int) -> AdaptationJob | None:
    """The project's pending or running job, if any."""
    return AdaptationJob.objects.filter(project_id=project_id, status__in=ACTIVE_STATUSES).order_by("-id").first()
