"""Running one export job: `export_job_run`, called by the Celery task `labeling.tasks.run_export_job`.

Jobs are created (and their task enqueued once the row is committed) by
`labeling.services.exports.export_job_create`. `export_job_run` is idempotent: it claims the job with a
conditional `UPDATE ... WHERE status = 'pending'`, so a task delivered twice (acks_late, worker lost) runs
the export once. Progress is written to `ExportJob.progress` (0..1) at most every `PROGRESS_EVERY` seconds;
the result file goes to `ExportJob.file` through Django storage, copied in chunks from the export's
temporary file, under a random name (`exports/<32 url-safe random characters>.<json|zip>`: nobody can
guess another export's name; downloads go through the checked endpoint, which names the file
"<project>-<format>.<ext>"). Failures set status "failed" with a message in `error`.
"""
from __future__ import annotations

import logging
import secrets
import time

from django.core.files import File
from django.utils import timezone

from labeling.errors import ClickLabelError
from labeling.exports import export_project
from labeling.models import ExportJob, ExportStatus

log = logging.getLogger(__name__)
PROGRESS_EVERY = 1.0


class _ProgressWriter:
    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            ExportJob.objects.filter(pk=self.job_id).update(progress=round(min(max(fraction, 0.0), 1.0) * 0.95, 3))


def stored_export_name(filename: str) -> str:
    """A random storage name keeping `filename`'s extension: "<secrets.token_urlsafe(24)>.<ext>"."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"{secrets.token_urlsafe(24)}.{extension}"


def export_job_run(*, job_id: int, reclaim_running: bool = False) -> ExportJob | None:
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
        try:
            job.file.save(stored_export_name(result.filename), File(result.file), save=False)
        finally:
            result.close()
        job.status, job.progress, job.error = ExportStatus.DONE, 1.0, ""
    except ClickLabelError as exc:
        job.status, job.error = ExportStatus.FAILED, exc.message
    except Exception as exc:  # reported on the job; the traceback goes to the log
        log.exception("export job %s failed", job_id)
        job.status, job.error = ExportStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}"
    job.finished_at = timezone.now()
    job.save(update_fields=["file", "status", "progress", "error", "finished_at"])
    return job
