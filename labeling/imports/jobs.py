"""Running one COCO import job: `import_job_run`, called by the Celery task `labeling.tasks.run_import_job`.

Jobs are created (file stored, row committed, task enqueued) by `labeling.services.imports.import_job_create`.
`import_job_run` claims the job with a conditional `UPDATE ... WHERE status = 'pending'` (a redelivered task
may take over a "running" job whose worker died), reads and checks the whole file before writing anything,
then creates the annotations in chunks of short transactions (`labeling.imports.coco.coco_import_run`); each
chunk's transaction also advances `cursor`, `progress` and `report`, so a resumed job neither skips nor
repeats an annotation. The stored file is deleted when the job ends (done or failed).
"""
from __future__ import annotations

import logging

from django.utils import timezone

from labeling.errors import ClickLabelError
from labeling.imports.coco import CocoLimits, CocoPlan, ImportReport, coco_check, coco_import_run, coco_parse
from labeling.models import ImportJob, ImportStatus
from labeling.permissions import Action, require

log = logging.getLogger(__name__)
REPORT_LIST_LIMIT = 200


def import_job_run(*, job_id: int, reclaim_running: bool = False) -> ImportJob | None:
    """Run a pending import job to completion; returns the job (None if it does not exist).

    A job that is not pending (running or finished) is returned untouched, except that `reclaim_running`
    (a redelivered task: its first worker died) also takes over a running job, from its `cursor`.
    """
    claimable = [ImportStatus.PENDING, ImportStatus.RUNNING] if reclaim_running else [ImportStatus.PENDING]
    claimed = ImportJob.objects.filter(pk=job_id, status__in=claimable).update(status=ImportStatus.RUNNING)
    job = ImportJob.objects.select_related("project", "requested_by").filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    try:
        _run(job)
        job.status, job.progress, job.error = ImportStatus.DONE, 1.0, ""
    except ClickLabelError as exc:
        job.status, job.error = ImportStatus.FAILED, exc.message
    except Exception as exc:  # reported on the job; the traceback goes to the log
        log.exception("import job %s failed", job_id)
        job.status, job.error = ImportStatus.FAILED, f"internal error: {type(exc).__name__}"
    job.finished_at = timezone.now()
    if job.file:
        job.file.delete(save=False)
    job.save(update_fields=["status", "progress", "error", "finished_at", "file"])
    return job


def _run(job: ImportJob) -> None:
    user = job.requested_by
    if user is None:
        raise ClickLabelError("The user who started the import no longer exists.", code="invalid_import")
    require(user, job.project, Action.IMPORT)
    if not job.file:
        raise ClickLabelError("The import's file is missing.", code="invalid_import")
    with job.file.open("rb") as handle:
        coco = coco_parse(handle.read())
    limits = CocoLimits.from_settings()
    coco_check(coco, limits)
    plan = CocoPlan(job.project, coco)
    total = len(coco.get("annotations", []))
    if job.cursor == 0:
        report = ImportReport(list_limit=REPORT_LIST_LIMIT)
        plan.start(report)
    else:
        report = ImportReport.from_dict(job.report, list_limit=REPORT_LIST_LIMIT)
    job.total = total
    ImportJob.objects.filter(pk=job.pk).update(total=total, report=report.to_dict())

    def chunk_done(index: int, current: ImportReport) -> None:
        job.cursor, job.report = index, current.to_dict()
        job.progress = round(index / total, 3) if total else 1.0
        ImportJob.objects.filter(pk=job.pk).update(cursor=job.cursor, progress=job.progress, report=job.report)

    coco_import_run(coco=coco, plan=plan, user=user, report=report, limits=limits, start=job.cursor,
                    on_chunk=chunk_done)
    job.report = report.to_dict()
    ImportJob.objects.filter(pk=job.pk).update(report=job.report)
