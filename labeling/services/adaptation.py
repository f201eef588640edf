"""Adaptation jobs: start one (by hand or every N accepted images), cancel one. The task
(`labeling.tasks.run_adaptation_job`, queue CLICKLABEL_TRAINING_QUEUE) runs the round through
`labeling.adaptation.jobs.adaptation_job_run`; it is sent by name, because the workflow service (an accepted
image may start a job) is imported, through the import jobs, by `labeling.tasks` itself."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from celery import current_app

from labeling.adaptation.settings import ADAPTATION_TASK, adapt_config, training_queue
from labeling.errors import ClickLabelError, Conflict
from labeling.models import AdaptationJob, AdaptationStatus, Image, ImageStatus, Project
from labeling.permissions import Action, require
from labeling.selectors.model_versions import adaptation_job_active

MAX_BUDGET_MIN = 240.0
STALE_AFTER = timedelta(hours=6)   # a running job older than this lost its worker (tasks are acked on receipt)


def _accepted_images(project_id: int) -> int:
    return Image.objects.filter(project_id=project_id, status=ImageStatus.ACCEPTED).count()


def _free_slot(project: Project) -> None:
    """Conflict while the project has a pending or running job; a running job older than STALE_AFTER is
    marked failed first (its worker was lost)."""
    active = adaptation_job_active(project_id=project.pk)
    if active is None:
        return
    started = active.started_at or active.created_at
    if active.status == AdaptationStatus.RUNNING and timezone.now() - started > STALE_AFTER:
        AdaptationJob.objects.filter(pk=active.pk, status=AdaptationStatus.RUNNING).update(
            status=AdaptationStatus.FAILED, error="the training worker was lost", finished_at=timezone.now())
        return
    raise Conflict(f"Adaptation job #{active.pk} of this project is {active.status}; wait for it or cancel it.",
                   code="adaptation_running", details={"job": active.pk, "status": active.status})


@transaction.atomic
def adaptation_job_create(*, project: Project, user: Any, budget_min: float | None = None,
                          trigger: str = "manual") -> AdaptationJob:
    """Start adapting the project's model (managers): store a pending job and enqueue its task on the training
    queue once committed. Conflict (409) while another job of the project is pending or running."""
    if user is not None:
        require(user, project, Action.MANAGE_PROJECT)
    if budget_min is not None and not 0 < float(budget_min) <= MAX_BUDGET_MIN:
        raise ClickLabelError(f"budget_min must be in (0, {MAX_BUDGET_MIN:g}] minutes.", code="invalid_budget")
    Project.objects.select_for_update().filter(pk=project.pk).first()   # one job at a time per project
    _free_slot(project)
    cfg = adapt_config(budget_min=budget_min)
    job = AdaptationJob.objects.create(
        project=project, requested_by=user if getattr(user, "is_authenticated", False) else None, trigger=trigger,
        accepted_images=_accepted_images(project.pk), base_model=project.default_model,
        options={"budget_min": cfg.budget_min})
    transaction.on_commit(lambda: current_app.send_task(ADAPTATION_TASK, args=[job.pk], queue=training_queue()))
    return job


@transaction.atomic
def adaptation_job_cancel(*, job: AdaptationJob, user: Any) -> AdaptationJob:
    """Cancel a job (managers): a pending one at once, a running one at its next step (its task sees the flag).
    Conflict (409) for a finished job. Nothing a cancelled job made is kept."""
    require(user, job.project_id, Action.MANAGE_PROJECT)
    if AdaptationJob.objects.filter(pk=job.pk, status=AdaptationStatus.PENDING).update(
            status=AdaptationStatus.CANCELLED, cancel_requested=True, finished_at=timezone.now()):
        job.refresh_from_db()
        return job
    if not AdaptationJob.objects.filter(pk=job.pk, status=AdaptationStatus.RUNNING).update(cancel_requested=True):
        job.refresh_from_db()
        raise Conflict(f"The job is {job.status}; only pending or running jobs can be cancelled.",
                       code="adaptation_finished", details={"status": job.status})
    job.refresh_from_db()
    return job


def adaptation_job_start_if_due(*, project: Project) -> AdaptationJob | None:
    """Start a round when the project adapts every N accepted images (`Project.adapt_every` > 0) and N images
    were accepted since the last job was created (or since the start); None when not due or a job is active."""
    every = int(project.adapt_every or 0)
    if every <= 0 or adaptation_job_active(project_id=project.pk) is not None:
        return None
    last = AdaptationJob.objects.filter(project=project).order_by("-id").values_list("accepted_images",
                                                                                      flat=True).first()
    if _accepted_images(project.pk) - (last or 0) < every:
        return None
    try:
        return adaptation_job_create(project=project, user=None, trigger="auto")
    except Conflict:
        return None
