"""Running one adaptation job: `adaptation_job_run`, called by the Celery task `labeling.tasks.run_adaptation_job`
on the training queue.

The job is claimed with a conditional UPDATE (pending → running). It writes the project's accepted objects to a
temporary folder, runs `inference.adaptation.rounds.run_round` from the project's current model with the
stored split, and records the outcome: a promoted candidate becomes the project's next version and model, a
refused one a version row with the reason (`labeling.services.model_versions.model_version_record`); a round
refused before training (too few objects) only reports. Progress (stage, step, fraction, ETA) goes to the job
row every few seconds; the cancel flag is read between steps. A cancelled or failed job leaves no version and
no file; the temporary folder is always removed.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from labeling.adaptation.data import accepted_objects
from labeling.adaptation.settings import adapt_config
from labeling.models import AdaptationJob, AdaptationSplit, AdaptationStatus, Project
from labeling.selectors.model_versions import model_version_get_promoted
from labeling.services.model_versions import model_version_record

log = logging.getLogger(__name__)


def _model_file(project: Project, name: str) -> Path:
    """The weights file of the model the project runs: one of its promoted versions, a registered name, or a
    checkpoint path set by an administrator."""
    version = model_version_get_promoted(project_id=project.pk, name=name)
    if version is not None:
        return Path(version.file.path)
    from inference.model_zoo import resolve
    return Path(resolve(name))


def _progress_writer(job_id: int) -> Any:
    def write(progress: Any) -> None:
        AdaptationJob.objects.filter(pk=job_id, status=AdaptationStatus.RUNNING).update(
            stage=progress.stage, step=progress.step, steps=progress.steps, progress=progress.fraction,
            eta_seconds=progress.eta_s)
    return write


def _cancel_flag(job_id: int) -> Any:
    return lambda: AdaptationJob.objects.filter(pk=job_id, cancel_requested=True).exists()


def _finish(job: AdaptationJob, status: str, **fields: Any) -> AdaptationJob:
    fields.update(status=status, finished_at=timezone.now(), eta_seconds=None)
    if status == AdaptationStatus.DONE:
        fields.update(progress=1.0)
    AdaptationJob.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


def adaptation_job_run(*, job_id: int) -> AdaptationJob | None:
    """Run a pending adaptation job to its end; returns the job (None if it does not exist). A job that is not
    pending (cancelled before it started, or already taken) is returned untouched."""
    from inference.adaptation.control import Cancelled, Control
    from inference.adaptation.rounds import run_round
    from inference.adaptation.split import Split

    claimed = AdaptationJob.objects.filter(pk=job_id, status=AdaptationStatus.PENDING, cancel_requested=False).update(
        status=AdaptationStatus.RUNNING, started_at=timezone.now(), stage="prepare", progress=0.0)
    job = AdaptationJob.objects.select_related("project").filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    project = job.project
    work = Path(tempfile.mkdtemp(prefix=f"clicklabel-adapt-{job.pk}-"))
    control = Control(cancelled=_cancel_flag(job.pk), report=_progress_writer(job.pk))
    try:
        cfg = adapt_config(budget_min=(job.options or {}).get("budget_min"))
        if project.default_mode not in ("grabcut", cfg.mode):
            cfg = replace(cfg, mode=project.default_mode)
        base_model = project.default_model
        base_file = _model_file(project, base_model)
        objects = accepted_objects(project, work / "masks", check=control.check)
        stored = AdaptationSplit.objects.filter(project=project).first()
        previous = (Split.from_json({"seed": stored.seed, "heldout_images": stored.heldout_images,
                                     "train_images": stored.train_images}) if stored else None)
        result = run_round(objects=objects, current_model=base_model, current_path=base_file, work_dir=work / "round",
                           cfg=cfg, previous_split=previous, control=control)
        control.check(force=True)   # the last moment a cancel is honoured: nothing is recorded yet
        data = result.to_json()
        split = result.split.to_json()
        AdaptationSplit.objects.update_or_create(project=project, defaults={
            "seed": split["seed"], "heldout_images": split["heldout_images"], "train_images": split["train_images"]})
        version = None
        if result.candidate is not None:
            version = model_version_record(project=project, job=job, parent=base_model, round_json=data,
                                           candidate=result.candidate if result.promoted else None)
        data["version"] = version.name if version is not None else None
        image = result.report.get("png")
        if image is not None and image.is_file():
            job.report_image.save(f"job-{job.pk}.png", ContentFile(image.read_bytes()), save=False)
            AdaptationJob.objects.filter(pk=job.pk).update(report_image=job.report_image.name)
        return _finish(job, AdaptationStatus.DONE, report=data, stage="decide", base_model=base_model)
    except Cancelled:
        return _finish(job, AdaptationStatus.CANCELLED, error="cancelled")
    except Exception as exc:  # reported on the job; the traceback goes to the log
        log.exception("adaptation job %s failed", job_id)
        return _finish(job, AdaptationStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
