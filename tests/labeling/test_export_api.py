"""Export endpoints: direct download, jobs (create, status, download), limits and permissions.

The job is run here by calling the service the Celery task calls; the real Celery worker runs it in
test_flow.py.
"""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from labeling.exports.jobs import export_job_run
from labeling.models import ExportJob, ExportStatus

from export_helpers import add_annotation, ring_mask


@pytest.fixture
def annotated(world):
    world.image.width, world.image.height = 12, 8
    add_annotation(world.image, world.label, ring_mask(8, 12))
    return world


def test_direct_export_streams_coco(annotated):
    world = annotated
    response = world.client(world.manager).get(f"/api/projects/{world.project.pk}/export/",
                                               {"format": "coco-polygon", "statuses": "new,in_progress"})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert 'filename="Cats-coco-polygon.json"' in response["Content-Disposition"]
    assert response.streaming and int(response["Content-Length"]) > 0  # streamed from a temporary file
    coco = json.loads(b"".join(response.streaming_content))
    assert len(coco["annotations"]) == 1 and coco["annotations"][0]["segmentation"]


def test_direct_export_zip_formats(annotated):
    response = annotated.client(annotated.manager).get(f"/api/projects/{annotated.project.pk}/export/",
                                                       {"format": "voc", "include_images": "1"})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert any(n.startswith("SegmentationClass/") for n in names) and any(n.startswith("JPEGImages/") for n in names)


@pytest.mark.parametrize("params,code", [
    ({"format": "xml"}, "invalid_format"),
    ({"format": "voc", "statuses": "bogus"}, "invalid_filter"),
    ({"format": "voc", "labels": "x"}, "invalid_filter"),
])
def test_direct_export_bad_parameters(annotated, params, code):
    response = annotated.client(annotated.manager).get(f"/api/projects/{annotated.project.pk}/export/", params)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_direct_export_of_a_large_project_points_to_the_job_endpoint(annotated, settings):
    settings.CLICKLABEL_DIRECT_EXPORT_MAX_IMAGES = 1
    response = annotated.client(annotated.manager).get(f"/api/projects/{annotated.project.pk}/export/",
                                                       {"format": "coco-rle"})
    assert response.status_code == 413
    assert f"POST /api/projects/{annotated.project.pk}/exports/" in response.json()["error"]["message"]


def test_export_job_lifecycle(annotated, django_capture_on_commit_callbacks):
    client = annotated.client(annotated.manager)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/api/projects/{annotated.project.pk}/exports/",
                               {"format": "coco-rle", "statuses": ["new"], "labels": [annotated.label.pk]},
                               format="json")
    assert response.status_code == 202 and len(callbacks) == 1  # the Celery send waits for the commit
    body = response.json()
    assert body["status"] == "pending" and body["status_url"].endswith(f"/api/exports/{body['id']}/")
    assert client.get(f"/api/exports/{body['id']}/download/").status_code == 409
    job = export_job_run(job_id=body["id"])
    assert job.status == ExportStatus.DONE
    assert export_job_run(job_id=body["id"]).status == ExportStatus.DONE  # a second delivery does nothing
    status = client.get(body["status_url"]).json()
    assert status["status"] == "done" and status["progress"] == 1.0 and status["download_url"]
    download = client.get(status["download_url"])
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    coco = json.loads(b"".join(download.streaming_content))
    assert [c["name"] for c in coco["categories"]] == ["cat"] and len(coco["annotations"]) == 1


def test_failed_job_reports_its_error(annotated):
    job = ExportJob.objects.create(project=annotated.project, format="coco-rle", options={"statuses": ["nope"]})
    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and "Unknown image status" in job.error
    response = annotated.client(annotated.manager).get(f"/api/exports/{job.pk}/download/")
    assert response.status_code == 409 and response.json()["error"]["details"]["status"] == "failed"


def test_export_permissions(annotated):
    url = f"/api/projects/{annotated.project.pk}/exports/"
    assert annotated.client(annotated.annotator).post(url, {"format": "voc"}, format="json").status_code == 403
    assert annotated.client(annotated.outsider).post(url, {"format": "voc"}, format="json").status_code == 404
    job = ExportJob.objects.create(project=annotated.project, format="voc")
    assert annotated.client(annotated.outsider).get(f"/api/exports/{job.pk}/").status_code == 404
    assert annotated.client(annotated.reviewer).get(f"/api/exports/{job.pk}/").status_code == 403


def test_job_create_validates_before_queueing(annotated, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = annotated.client(annotated.manager).post(
            f"/api/projects/{annotated.project.pk}/exports/", {"format": "voc", "statuses": ["bogus"]}, format="json")
    assert response.status_code == 400 and callbacks == [] and not ExportJob.objects.exists()


def test_a_running_job_is_left_alone_unless_reclaimed(annotated):
    job = ExportJob.objects.create(project=annotated.project, format="coco-rle", status=ExportStatus.RUNNING)
    assert export_job_run(job_id=job.pk).status == ExportStatus.RUNNING  # a duplicate delivery does not run it twice
    assert export_job_run(job_id=job.pk, reclaim_running=True).status == ExportStatus.DONE  # the first worker died
