"""COCO import jobs through the API: POST /api/projects/{id}/import/coco/ (JSON body or uploaded file) → 202 with
the job; the job (run here by calling what the Celery task calls) imports in chunks with progress; GET
/api/imports/{id}/ shows status, progress and report."""
from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.imports import coco as coco_module
from labeling.imports.jobs import import_job_run
from labeling.masks import mask_to_rle
from labeling.models import Annotation, ImportJob, ImportStatus

from export_helpers import ring_mask
from upload_helpers import media_files


def _coco(world, annotations: int = 1):
    return {"images": [{"id": 1, "file_name": world.image.original_name, "width": 12, "height": 8}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 5 + i, "image_id": 1, "category_id": 1, "segmentation": mask_to_rle(ring_mask(8, 12))}
                            for i in range(annotations)]}


def _url(world):
    return f"/api/projects/{world.project.pk}/import/coco/"


def test_import_json_body_is_a_job_that_imports(world, django_capture_on_commit_callbacks):
    client = world.client(world.manager)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(_url(world), _coco(world), format="json")
    assert response.status_code == 202 and len(callbacks) == 1  # the Celery send waits for the commit
    body = response.json()
    assert body["status"] == "pending" and body["status_url"].endswith(f"/api/imports/{body['id']}/")
    assert body["report"] == {"imported": [], "skipped": [], "truncated": False,  # the documented shape, empty
                              "counts": {"imported": 0, "skipped": 0, "matched_images": 0}}
    assert not Annotation.objects.exists()
    job = import_job_run(job_id=body["id"])
    assert job.status == ImportStatus.DONE and not job.file  # the stored file is gone once done
    assert import_job_run(job_id=body["id"]).status == ImportStatus.DONE  # a second delivery does nothing
    status = client.get(body["status_url"]).json()
    assert status["status"] == "done" and status["progress"] == 1.0 and status["processed"] == status["total"] == 1
    assert status["report"]["counts"] == {"imported": 1, "skipped": 0, "matched_images": 1}
    assert Annotation.objects.filter(image=world.image, label=world.label).count() == 1


def test_import_uploaded_file(world):
    upload = SimpleUploadedFile("instances.json", json.dumps(_coco(world)).encode())
    response = world.client(world.manager).post(_url(world), {"file": upload}, format="multipart")
    assert response.status_code == 202 and response.json()["file_name"] == "instances.json"
    job = import_job_run(job_id=response.json()["id"])
    assert job.report["counts"] == {"imported": 1, "skipped": 0, "matched_images": 1}


def test_import_bad_json_file_is_a_400_and_nothing_is_stored(world):
    before = media_files()
    upload = SimpleUploadedFile("instances.json", b"{not json")
    response = world.client(world.manager).post(_url(world), {"file": upload}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_coco"
    assert not Annotation.objects.exists() and not ImportJob.objects.exists() and media_files() == before


def test_a_large_file_is_checked_by_the_job(world, settings):
    settings.CLICKLABEL_IMPORT_INLINE_BYTES = 4
    bad = _coco(world)
    bad["images"][0]["id"] = [1]
    upload = SimpleUploadedFile("instances.json", json.dumps(bad).encode())
    response = world.client(world.manager).post(_url(world), {"file": upload}, format="multipart")
    assert response.status_code == 202
    job = import_job_run(job_id=response.json()["id"])
    assert job.status == ImportStatus.FAILED and "image id must be an integer or a string" in job.error
    assert not Annotation.objects.exists()
    not_json = world.client(world.manager).post(
        _url(world), {"file": SimpleUploadedFile("x.json", b"[1, 2, 3]")}, format="multipart")
    assert not_json.status_code == 400


class WorkerKilled(BaseException):
    """Stands for the worker process dying: not an Exception, so nothing marks the job failed."""


def test_the_job_commits_chunk_by_chunk_and_a_redelivery_resumes_at_its_cursor(world, monkeypatch):
    monkeypatch.setattr(coco_module, "CHUNK_ANNOTATIONS", 2)
    real_create, calls = coco_module.annotation_create, []

    def dies_on_the_fourth(**kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise WorkerKilled
        return real_create(**kwargs)

    monkeypatch.setattr(coco_module, "annotation_create", dies_on_the_fourth)
    job_id = world.client(world.manager).post(_url(world), _coco(world, annotations=5), format="json").json()["id"]
    with pytest.raises(WorkerKilled):
        import_job_run(job_id=job_id)
    job = ImportJob.objects.get(pk=job_id)
    # the first chunk (2 annotations) is committed with its cursor; the second rolled back with the worker
    assert (job.status, job.cursor, job.progress, Annotation.objects.count()) == (ImportStatus.RUNNING, 2, 0.4, 2)
    assert job.report["counts"]["imported"] == 2
    assert import_job_run(job_id=job_id).status == ImportStatus.RUNNING  # a duplicate delivery leaves it alone
    job = import_job_run(job_id=job_id, reclaim_running=True)  # the redelivered task takes over at the cursor
    assert job.status == ImportStatus.DONE and job.cursor == 5 and Annotation.objects.count() == 5
    assert job.report["counts"]["imported"] == 5
    assert sorted(i["coco_id"] for i in job.report["imported"]) == [5, 6, 7, 8, 9]


def test_import_permissions(world):
    assert world.client(world.annotator).post(_url(world), _coco(world), format="json").status_code == 403
    assert world.client(world.outsider).post(_url(world), _coco(world), format="json").status_code == 404
    job = ImportJob.objects.create(project=world.project, requested_by=world.manager)
    assert world.client(world.outsider).get(f"/api/imports/{job.pk}/").status_code == 404
    assert world.client(world.reviewer).get(f"/api/imports/{job.pk}/").status_code == 403
    assert not Annotation.objects.exists()


def test_a_job_whose_user_lost_the_right_fails(world):
    response = world.client(world.manager).post(_url(world), _coco(world), format="json")
    world.project.memberships.filter(user=world.manager).update(role="annotator")
    job = import_job_run(job_id=response.json()["id"])
    assert job.status == ImportStatus.FAILED and "import" in job.error and not Annotation.objects.exists()
