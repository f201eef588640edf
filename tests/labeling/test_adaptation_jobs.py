"""Adapting a project's model, in-process (the job runner called as the Celery task calls it): the guards (too
few accepted objects, a worse candidate, cancelling), versions and rollback, the every-N trigger, the REST
endpoints' permissions. The run through a real Celery worker and a live worker: tests/live/test_adaptation_live.py."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from inference.adaptation import train as adaptation_train
from labeling.adaptation.jobs import adaptation_job_run
from labeling.errors import ClickLabelError, Conflict
from labeling.models import (AdaptationJob, AdaptationSplit, AdaptationStatus, ImageStatus, ModelDecision,
                             ModelVersion, Project)
from labeling.services.adaptation import adaptation_job_cancel, adaptation_job_create
from labeling.services.model_versions import model_version_rollback
from labeling.services.projects import project_update
from labeling.services.workflow import image_review

from adaptation_project import add_cell_images

pytestmark = pytest.mark.django_db


@pytest.fixture
def adapt_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CLICKLABEL_ADAPT_RECIPE = "smoke"
    settings.CLICKLABEL_ADAPT_BUDGET_MIN = 0.1
    settings.CLICKLABEL_ADAPT_MAX_CLICKS = 3
    settings.CLICKLABEL_ADAPT_THREADS = 1
    settings.CLICKLABEL_ADAPT_GENERIC_DATA = ""
    return settings


@pytest.fixture
def cells_project(world, adapt_settings):
    world.project.default_mode = "nobrs"
    world.project.save()
    return world


def _job(project: Project, user, capture) -> AdaptationJob:
    with capture(execute=False):   # no broker: the test runs the job itself
        return adaptation_job_create(project=project, user=user)


def _models_dir(settings) -> Path:
    return Path(settings.MEDIA_ROOT) / "models"


def test_too_few_accepted_objects_is_a_clear_refusal_without_a_version(cells_project, django_capture_on_commit_callbacks):
    w = cells_project
    add_cell_images(w.project, w.label, 6)                                   # 18 objects
    add_cell_images(w.project, w.label, 4, first_seed=50, status=ImageStatus.IN_REVIEW)   # not accepted
    job = adaptation_job_run(job_id=_job(w.project, w.manager, django_capture_on_commit_callbacks).pk)
    assert job.status == AdaptationStatus.DONE and job.report["promoted"] is False
    assert job.report["reason"].startswith("not trained: too few accepted objects: 18; a round needs at least 40")
    assert job.report["version"] is None and not ModelVersion.objects.exists()
    assert Project.objects.get(pk=w.project.pk).default_model == "default"


@pytest.mark.slow
def test_a_worse_candidate_is_recorded_as_refused_and_not_served(cells_project, monkeypatch, settings,
                                                                   django_capture_on_commit_callbacks):
    w = cells_project
    add_cell_images(w.project, w.label, 15)                                  # 45 objects
    # a recipe that wrecks the weights: a learning rate of 0.5 on every layer
    wreck = lambda budget, threads: replace(adaptation_train._smoke(budget, threads), lr=0.5, backbone_lr_mult=1.0)
    monkeypatch.setitem(adaptation_train.RECIPES, "smoke", wreck)
    job = adaptation_job_run(job_id=_job(w.project, w.manager, django_capture_on_commit_callbacks).pk)
    assert job.status == AdaptationStatus.DONE, job.error
    assert job.report["promoted"] is False and job.report["reason"].startswith("kept the current model")
    version = ModelVersion.objects.get(project=w.project)
    assert version.decision == ModelDecision.REFUSED and not version.file and version.reason == job.report["reason"]
    assert version.name == job.report["version"] == f"project-{w.project.pk}-v1"
    assert version.figures["after"]["noc90"] >= version.figures["before"]["noc90"] - 0.2
    assert Project.objects.get(pk=w.project.pk).default_model == "default"
    assert not _models_dir(settings).exists() or not any(_models_dir(settings).rglob("*.pth"))
    split = AdaptationSplit.objects.get(project=w.project)
    assert len(split.heldout_images) == 7 and len(split.train_images) == 8, "the split is stored for later rounds"
    assert job.report_image and job.report_image.size > 1000


def test_a_pending_job_cancelled_never_runs(cells_project, django_capture_on_commit_callbacks):
    w = cells_project
    add_cell_images(w.project, w.label, 15)
    job = _job(w.project, w.manager, django_capture_on_commit_callbacks)
    with pytest.raises(ClickLabelError):
        adaptation_job_cancel(job=job, user=w.annotator)
    assert adaptation_job_cancel(job=job, user=w.manager).status == AdaptationStatus.CANCELLED
    job = adaptation_job_run(job_id=job.pk)
    assert job.status == AdaptationStatus.CANCELLED and job.started_at is None and not ModelVersion.objects.exists()
    with pytest.raises(Conflict):
        adaptation_job_cancel(job=job, user=w.manager)


def test_one_job_at_a_time_and_only_managers_start_one(cells_project, django_capture_on_commit_callbacks):
    w = cells_project
    with pytest.raises(ClickLabelError):
        _job(w.project, w.annotator, django_capture_on_commit_callbacks)
    first = _job(w.project, w.manager, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict) as err:
        _job(w.project, w.manager, django_capture_on_commit_callbacks)
    assert err.value.details["job"] == first.pk
    with pytest.raises(ClickLabelError):
        with django_capture_on_commit_callbacks(execute=False):
            adaptation_job_create(project=w.project, user=w.manager, budget_min=0)


def test_every_n_accepted_images_starts_a_job_when_none_is_running(cells_project, django_capture_on_commit_callbacks):
    w = cells_project
    project_update(project=w.project, user=w.manager, adapt_every=2)
    images = add_cell_images(w.project, w.label, 5, status=ImageStatus.IN_REVIEW)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        image_review(image=images[0], user=w.reviewer, decision="accept")
        assert not AdaptationJob.objects.exists()
        image_review(image=images[1], user=w.reviewer, decision="accept")
        job = AdaptationJob.objects.get()
        assert job.trigger == "auto" and job.accepted_images == 2 and job.requested_by is None
        image_review(image=images[2], user=w.reviewer, decision="accept")
        image_review(image=images[3], user=w.reviewer, decision="accept")
        assert AdaptationJob.objects.count() == 1, "not while one is pending"
    assert len(enqueued) == 1
    AdaptationJob.objects.filter(pk=job.pk).update(status=AdaptationStatus.DONE)
    with django_capture_on_commit_callbacks(execute=False):
        image_review(image=images[4], user=w.reviewer, decision="reject", comment="redo")
        assert AdaptationJob.objects.count() == 1, "a rejection is no acceptance"
        AdaptationJob.objects.filter(pk=job.pk).update(accepted_images=2)
        w.project.images.filter(pk=images[4].pk).update(status=ImageStatus.IN_REVIEW)
        images[4].refresh_from_db()
        image_review(image=images[4], user=w.reviewer, decision="accept")   # 5 accepted, 3 since the job
        assert AdaptationJob.objects.count() == 2


def _promoted(project: Project, number: int, parent: str) -> ModelVersion:
    name = f"project-{project.pk}-v{number}"
    stored = default_storage.save(f"models/project-{project.pk}/v{number}.pth", ContentFile(b"weights"))
    return ModelVersion.objects.create(project=project, number=number, name=name, parent=parent, file=stored,
                                       decision=ModelDecision.PROMOTED)


def test_rollback_returns_to_the_parent_or_a_named_version_and_nothing_else(cells_project):
    w = cells_project
    v1 = _promoted(w.project, 1, "default")
    ModelVersion.objects.create(project=w.project, number=2, name=f"project-{w.project.pk}-v2", parent=v1.name,
                                decision=ModelDecision.REFUSED)
    v3 = _promoted(w.project, 3, v1.name)
    project_update(project=w.project, user=w.manager, default_model=v3.name)
    with pytest.raises(ClickLabelError):
        model_version_rollback(project=w.project, user=w.annotator)
    assert model_version_rollback(project=w.project, user=w.manager).default_model == v1.name
    for bad in (f"project-{w.project.pk}-v2", f"project-{w.other_project.pk}-v1", "/etc/passwd", "other"):
        with pytest.raises(ClickLabelError):
            model_version_rollback(project=w.project, user=w.manager, to=bad)
    assert model_version_rollback(project=w.project, user=w.manager, to="default").default_model == "default"
    with pytest.raises(Conflict):
        model_version_rollback(project=w.project, user=w.manager)
    assert model_version_rollback(project=w.project, user=w.manager, to=v3.name).default_model == v3.name
    other_version = _promoted(w.other_project, 1, "default")
    for bad in (other_version.name, f"project-{w.project.pk}-v2", f"project-{w.project.pk}-v9"):
        with pytest.raises(ClickLabelError):
            project_update(project=w.project, user=w.manager, default_model=bad)


def test_rest_endpoints_start_follow_cancel_and_list(cells_project, django_capture_on_commit_callbacks):
    w = cells_project
    base = f"/api/projects/{w.project.pk}"
    assert w.client(w.annotator).post(f"{base}/adaptations/", {}, format="json").status_code == 403
    assert w.client(w.outsider).get(f"{base}/adaptations/").status_code == 404
    with django_capture_on_commit_callbacks(execute=False):
        started = w.client(w.manager).post(f"{base}/adaptations/", {"budget_min": 0.5}, format="json")
    assert started.status_code == 202, started.content
    body = started.json()
    assert body["status"] == "pending" and body["options"] == {"budget_min": 0.5} and body["report"] is None
    status = w.client(w.annotator).get(body["status_url"])
    assert status.status_code == 200 and status.json()["id"] == body["id"]
    assert w.client(w.outsider).get(body["status_url"]).status_code == 404
    assert w.client(w.annotator).post(f"/api/adaptations/{body['id']}/cancel/").status_code == 403
    cancelled = w.client(w.manager).post(f"/api/adaptations/{body['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert [j["id"] for j in w.client(w.annotator).get(f"{base}/adaptations/").json()] == [body["id"]]
    assert w.client(w.manager).get(f"/api/adaptations/{body['id']}/report.png").status_code == 404
    v1 = _promoted(w.project, 1, "default")
    project_update(project=w.project, user=w.manager, default_model=v1.name)
    versions = w.client(w.annotator).get(f"{base}/model-versions/").json()
    assert versions["current"] == v1.name and versions["versions"][0]["active"] is True
    assert w.client(w.annotator).post(f"{base}/model-versions/rollback/", {}, format="json").status_code == 403
    back = w.client(w.manager).post(f"{base}/model-versions/rollback/", {}, format="json")
    assert back.status_code == 200 and back.json()["current"] == "default"
    refused = w.client(w.manager).post(f"{base}/model-versions/rollback/", {"to": "/tmp/x.pth"}, format="json")
    assert refused.status_code == 400
    assert w.client(w.manager).patch(f"{base}/", {"adapt_every": 25}, format="json").json()["adapt_every"] == 25
