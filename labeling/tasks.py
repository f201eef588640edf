"""Celery tasks of the labelling app: thin wrappers that call a service by id.

Services enqueue these tasks (`labeling.services.exports.export_job_create`,
`labeling.services.imports.import_job_create`); this module imports
nothing that imports it back."""
from __future__ import annotations

from celery import shared_task

from labeling.adaptation.jobs import adaptation_job_run
from labeling.adaptation.settings import ADAPTATION_TASK
from labeling.exports.jobs import export_job_run
from labeling.imports.jobs import import_job_run


@shared_task(bind=True, name="labeling.run_export_job", acks_late=True, soft_time_limit=3600, time_limit=3700)
def run_export_job(self, job_id: int) -> str:
    """Run ExportJob `job_id` (see labeling.exports.jobs.export_job_run); returns its final status.

    A redelivered message (the worker that had it was lost) may take over the job left "running".
    """
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    job = export_job_run(job_id=int(job_id), reclaim_running=redelivered)
    return job.status if job is not None else "missing"


@shared_task(bind=True, name="labeling.run_import_job", acks_late=True, soft_time_limit=3600, time_limit=3700)
def run_import_job(self, job_id: int) -> str:
    """Run ImportJob `job_id` (see labeling.imports.jobs.import_job_run); returns its final status.

    A redelivered message (the worker that had it was lost) takes over the job left "running" at its cursor.
    """
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    job = import_job_run(job_id=int(job_id), reclaim_running=redelivered)
    return job.status if job is not None else "missing"


@shared_task(name=ADAPTATION_TASK, acks_late=False, ignore_result=True)
def run_adaptation_job(job_id: int) -> str:
    """Run AdaptationJob `job_id` on the training queue (see labeling.adaptation.jobs.adaptation_job_run);
    returns its final status. Acknowledged on receipt: a lost worker's job is not run twice (it is marked
    failed when the next job of the project is started)."""
    job = adaptation_job_run(job_id=int(job_id))
    return job.status if job is not None else "missing"
