"""Adaptation end to end with real processes: a project with accepted annotations → an adaptation job taken by a
real Celery worker on the training queue over the real Redis broker → a new version promoted (or refused, with
its reason) → a real live click worker answers with the new version by name. And a running job cancelled
through the API leaves no version and no file. Seconds-long rounds: the `smoke` recipe, 3 clicks per object."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from rest_framework.test import APIClient

from inference.worker.payload import decode_roi_png

from adaptation_project import add_cell_images

from .conftest import REDIS_URL, communicator
from .test_integration import receive_until
from .workers import start_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cells_live(settings, tmp_path, live_redis):
    """A project (default mode nobrs) with 15 accepted pictures of 3 cells, a manager, and the adaptation
    settings of a seconds-long round on a private training queue."""
    from django.contrib.auth import get_user_model

    from labeling.models import Label, Membership, Project, Role

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CLICKLABEL_TRAINING_QUEUE = f"clicklabel-test-training-{uuid.uuid4().hex[:8]}"
    settings.CLICKLABEL_ADAPT_RECIPE = "smoke"
    settings.CLICKLABEL_ADAPT_BUDGET_MIN = 0.1
    settings.CLICKLABEL_ADAPT_MAX_CLICKS = 3
    settings.CLICKLABEL_ADAPT_THREADS = 1
    settings.CLICKLABEL_ADAPT_GENERIC_DATA = ""
    manager = get_user_model().objects.create_user("adapt-manager", password="pw-manager-1")
    project = Project.objects.create(name="cells", default_model="default", default_mode="nobrs")
    Membership.objects.create(project=project, user=manager, role=Role.MANAGER)
    other = Project.objects.create(name="other")
    label = Label.objects.create(project=project, name="cell")
    images = add_cell_images(project, label, 15)
    client = Client()
    client.force_login(manager)
    return {"project": project, "other": other, "manager": manager, "images": images,
            "cookie": f"sessionid={client.cookies['sessionid'].value}".encode()}


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _wait(api: APIClient, url: str, done, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    body = api.get(url).json()
    while not done(body):
        assert time.monotonic() < deadline, f"timed out: {body}"
        time.sleep(0.3)
        body = api.get(url).json()
    return body


def _training_worker():
    from celery.contrib.testing.worker import start_worker as start_celery_worker
    from django.conf import settings

    from webapp.celery import app
    return start_celery_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=60,
                               queues=[settings.CLICKLABEL_TRAINING_QUEUE])


def _adapt_through_celery(world: dict) -> dict:
    api = _api(world["manager"])
    with _training_worker():
        started = api.post(f"/api/projects/{world['project'].pk}/adaptations/", {}, format="json")
        assert started.status_code == 202, started.content
        seen: set[str] = set()

        def finished(body: dict) -> bool:
            seen.add(body["stage"])
            return body["status"] in ("done", "failed", "cancelled")

        body = _wait(api, started.json()["status_url"], finished, 600)
    assert body["status"] == "done", body
    body["stages_seen"] = seen
    return body


@pytest.mark.asyncio
async def test_a_job_on_the_training_worker_promotes_a_version_that_the_live_worker_serves(cells_live, tmp_path):
    from labeling.models import ModelVersion, Project

    w = cells_live
    body = await sync_to_async(_adapt_through_celery)(w)
    report = body["report"]
    assert body["progress"] == 1.0 and {"train", "evaluate-candidate"} & body["stages_seen"]
    assert report["train_objects"] + report["heldout_objects"] == 45
    assert report["before"]["noc90"] is not None and report["after"]["noc90"] is not None
    version = await sync_to_async(ModelVersion.objects.get)(project=w["project"])
    assert version.name == report["version"] == f"project-{w['project'].pk}-v1"
    assert version.reason == report["reason"]
    # on these cells the default model selects far more than the clicked cell: the candidate wins clearly
    assert report["promoted"] is True and version.decision == "promoted", report["reason"]
    project = await sync_to_async(Project.objects.get)(pk=w["project"].pk)
    assert project.default_model == version.name
    media = Path(tmp_path / "media")
    assert (media / f"models/project-{project.pk}/v1.pth").is_file()
    image_response = await sync_to_async(_api(w["manager"]).get)(body["report_image_url"])
    assert image_response.status_code == 200 and image_response["Content-Type"] == "image/png"

    worker = start_worker(REDIS_URL, tmp_path / "logs", env={"MEDIA_ROOT": str(media)})
    try:
        image = w["images"][0]
        comm = communicator(image.pk, w["cookie"])
        assert (await comm.connect())[0]
        ready, _ = await receive_until(comm, "ready", timeout=60)
        assert ready["project"]["default_model"] == version.name
        await comm.send_json_to({"type": "click", "seq": 1, "object_id": "o", "clicks": [{"x": 48, "y": 48,
                                                                                           "positive": True}]})
        mask, _ = await receive_until(comm, "mask", seq=1, timeout=120)
        assert mask["model"] == version.name and mask["mode"] == "nobrs" and "fallback" not in mask, mask
        assert decode_roi_png(mask, 96, 96).shape == (96, 96)
        other = f"project-{w['other'].pk}-v1"
        await comm.send_json_to({"type": "click", "seq": 2, "object_id": "o", "model": other,
                                 "clicks": [{"x": 48, "y": 48, "positive": True}]})
        error, _ = await receive_until(comm, "error", seq=2, timeout=30)
        assert error["code"] == "unknown_model"
        await comm.disconnect()
    finally:
        worker.stop()


def test_a_running_job_cancelled_through_the_api_leaves_no_version_and_no_file(cells_live, settings, tmp_path):
    from labeling.models import AdaptationJob, ModelVersion, Project

    w = cells_live
    settings.CLICKLABEL_ADAPT_BUDGET_MIN = 10.0        # long enough to be cancelled mid-training
    api = _api(w["manager"])
    with _training_worker():
        started = api.post(f"/api/projects/{w['project'].pk}/adaptations/", {"budget_min": 10}, format="json").json()
        running = _wait(api, started["status_url"], lambda b: b["stage"] == "train" or b["status"] != "pending"
                        and b["status"] != "running", 300)
        assert running["status"] == "running" and running["eta_seconds"] > 0, running
        assert api.post(f"/api/adaptations/{started['id']}/cancel/").json()["cancel_requested"] is True
        t0 = time.monotonic()
        body = _wait(api, started["status_url"], lambda b: b["status"] != "running", 120)
    assert body["status"] == "cancelled" and time.monotonic() - t0 < 60, body
    assert not ModelVersion.objects.exists() and body["report"] is None
    assert Project.objects.get(pk=w["project"].pk).default_model == "default"
    models = Path(settings.MEDIA_ROOT) / "models"
    assert not models.exists() or not any(models.rglob("*")), "no half-written version"
    assert AdaptationJob.objects.get(pk=started["id"]).finished_at is not None
