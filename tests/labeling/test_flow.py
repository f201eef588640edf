"""The real flow, end to end through the app's own entry points:

project, labels and members through the REST API → images through the ADMIN bulk-upload page (a zip
plus a loose file, bad members refused) → annotations through the REST API (a mask with a hole, a mask
with two separate parts) → exports (COCO RLE, COCO polygons, VOC PNGs) decoded back to the same pixels →
the same export run as a Celery task by a real Celery worker (thread) over the real Redis broker.
"""
from __future__ import annotations

import io
import json
import time
import uuid
import zipfile

import numpy as np
import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from PIL import Image as PILImage
from pycocotools.coco import COCO
from rest_framework.test import APIClient

from labeling.masks import mask_to_rle
from labeling.models import Annotation, Image

from export_helpers import ring_mask, two_parts_mask
from upload_helpers import jpeg, png, zip_of

H, W = 40, 48
pytestmark = pytest.mark.django_db(transaction=True)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _ok(response, code=200):
    assert response.status_code == code, response.content[:500]
    return response


def _body(response) -> bytes:
    """The body of a plain or a streaming response (exports stream from a temporary file)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def flow_project():
    """Project 'Flow' with labels ring/parts, an annotator and a manager, made through the REST API."""
    users = get_user_model().objects
    admin = users.create_superuser("boss", "boss@example.com", "pw-boss-123")
    annotator = users.create_user("ann", password="pw-ann-12345")
    manager = users.create_user("mgr", password="pw-mgr-12345")
    api = _api(admin)
    project_id = _ok(api.post("/api/projects/", {"name": "Flow"}, format="json"), 201).json()["id"]
    labels = {name: _ok(api.post(f"/api/projects/{project_id}/labels/", {"name": name, "color": color},
                                 format="json"), 201).json()["id"]
              for name, color in (("ring", "#00ff00"), ("parts", "#0000ff"))}
    for user, role in ((annotator, "annotator"), (manager, "manager")):
        _ok(api.post(f"/api/projects/{project_id}/members/", {"user": user.username, "role": role}, format="json"), 201)
    return {"id": project_id, "labels": labels, "admin": admin, "annotator": annotator, "manager": manager}


def _admin_upload(flow) -> dict[str, Image]:
    browser = Client()
    browser.force_login(flow["admin"])
    url = f"/admin/labeling/project/{flow['id']}/upload/"
    _ok(browser.get(url))
    archive = zip_of({"shots/a.png": png(W, H, seed=1), "shots/b.jpg": jpeg(W, H, seed=2),
                      "../evil.png": png(W, H, seed=3)})
    response = _ok(browser.post(url, {"files": [_named("batch.zip", archive),
                                                _named("fake.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>")]}))
    page = response.content.decode()
    assert "zip-slip" in page and "SVG drawing" in page
    images = {img.original_name: img for img in Image.objects.filter(project_id=flow["id"])}
    assert sorted(images) == ["shots/a.png", "shots/b.jpg"]
    return images


def _named(name: str, data: bytes) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def _annotate(flow, image: Image) -> dict[str, np.ndarray]:
    api = _api(flow["annotator"])
    masks = {"ring": ring_mask(H, W), "parts": two_parts_mask(H, W)}
    rle = mask_to_rle(masks["ring"])
    uncompressed = {"size": [H, W], "counts": _uncompressed_counts(masks["parts"])}
    for name, payload in (("ring", rle), ("parts", uncompressed)):
        body = {"image": image.pk, "label": flow["labels"][name], "mask": payload,
                "clicks": [{"x": 8, "y": 6, "positive": True}], "model_name": "default", "mode": "f-brs-b"}
        _ok(_api(flow["annotator"]).post("/api/annotations/", body, format="json"), 201)
    listed = _ok(api.get("/api/annotations/", {"image": image.pk})).json()["results"]
    assert len(listed) == 2
    return masks


def _uncompressed_counts(mask: np.ndarray) -> list[int]:
    """COCO uncompressed RLE (column-major runs, zeros first)."""
    flat = mask.T.reshape(-1).astype(np.uint8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def _check_coco(coco: dict, image: Image, masks: dict[str, np.ndarray], *, polygons: bool) -> None:
    api = COCO()
    api.dataset = coco
    api.createIndex()
    names = {c["id"]: c["name"] for c in coco["categories"]}
    entries = [a for a in coco["annotations"] if a["image_id"] == image.pk]
    assert sorted(names[a["category_id"]] for a in entries) == ["parts", "ring"]
    for entry in entries:
        expected = masks[names[entry["category_id"]]]
        decoded = api.annToMask(entry).astype(bool)
        if polygons:
            iou = (decoded & expected).sum() / (decoded | expected).sum()
            assert iou >= 0.99
            assert len(entry["segmentation"]) == (2 if names[entry["category_id"]] == "parts" else 1)
        np.testing.assert_array_equal(decoded, expected)
    ring_entry = next(a for a in entries if names[a["category_id"]] == "ring")
    assert not api.annToMask(ring_entry)[15, 17]  # the hole survives


def _check_voc(data: bytes, masks: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        labels = zf.read("labels.txt").decode().split()
        with PILImage.open(io.BytesIO(zf.read("SegmentationClass/shots/a.png"))) as img:
            classes = np.asarray(img)
        with PILImage.open(io.BytesIO(zf.read("SegmentationObject/shots/a.png"))) as img:
            instances = np.asarray(img)
    assert labels == ["background", "ring", "parts"]
    np.testing.assert_array_equal(classes == 1, masks["ring"] & ~masks["parts"])
    np.testing.assert_array_equal(classes == 2, masks["parts"])
    np.testing.assert_array_equal(instances > 0, masks["ring"] | masks["parts"])


def test_real_flow_admin_upload_rest_annotations_and_exports(flow_project):
    flow = flow_project
    images = _admin_upload(flow)
    image = images["shots/a.png"]
    masks = _annotate(flow, image)
    manager = _api(flow["manager"])
    url = f"/api/projects/{flow['id']}/export/"
    rle = json.loads(_body(_ok(manager.get(url, {"format": "coco-rle"}))))
    _check_coco(rle, image, masks, polygons=False)
    poly = json.loads(_body(_ok(manager.get(url, {"format": "coco-polygon"}))))
    _check_coco(poly, image, masks, polygons=True)
    _check_voc(_body(_ok(manager.get(url, {"format": "voc"}))), masks)
    assert Annotation.objects.filter(image=image).count() == 2


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(_redis_py_url(settings.CELERY_BROKER_URL), socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"no Redis broker at {settings.CELERY_BROKER_URL}: {exc}")


def _redis_py_url(broker: str) -> str:
    if broker.startswith("redis+socket://"):
        return "unix://" + broker[len("redis+socket://"):].split("?", 1)[0]
    return broker


def test_export_job_runs_in_a_real_celery_worker(flow_project, settings):
    _redis_or_skip()
    from celery.contrib.testing.worker import start_worker

    from webapp.celery import app

    flow = flow_project
    images = _admin_upload(flow)
    masks = _annotate(flow, images["shots/a.png"])
    queue = f"clicklabel-test-exports-{uuid.uuid4().hex[:8]}"
    settings.CLICKLABEL_EXPORT_QUEUE = queue  # a private queue: no other worker can take our task
    manager = _api(flow["manager"])
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        job = _ok(manager.post(f"/api/projects/{flow['id']}/exports/", {"format": "coco-polygon"}, format="json"),
                  202).json()
        deadline = time.monotonic() + 60
        status = job
        while status["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            status = _ok(manager.get(job["status_url"])).json()
    assert status["status"] == "done", status
    download = _ok(manager.get(status["download_url"]))
    coco = json.loads(b"".join(download.streaming_content))
    _check_coco(coco, images["shots/a.png"], masks, polygons=True)


def test_coco_import_job_runs_in_a_real_celery_worker(flow_project, settings):
    _redis_or_skip()
    from celery.contrib.testing.worker import start_worker

    from labeling.masks import rle_to_mask
    from webapp.celery import app

    flow = flow_project
    images = _admin_upload(flow)
    image = images["shots/a.png"]
    masks = _annotate(flow, image)
    manager = _api(flow["manager"])
    coco = json.loads(_body(_ok(manager.get(f"/api/projects/{flow['id']}/export/", {"format": "coco-polygon"}))))
    Annotation.objects.all().delete()
    queue = f"clicklabel-test-imports-{uuid.uuid4().hex[:8]}"
    settings.CLICKLABEL_IMPORT_QUEUE = queue  # a private queue: no other worker can take our task
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        job = _ok(manager.post(f"/api/projects/{flow['id']}/import/coco/", coco, format="json"), 202).json()
        deadline = time.monotonic() + 60
        status = job
        while status["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            status = _ok(manager.get(job["status_url"])).json()
    assert status["status"] == "done" and status["progress"] == 1.0, status
    assert status["report"]["counts"]["imported"] == 2
    for annotation in Annotation.objects.filter(image=image).select_related("label"):
        np.testing.assert_array_equal(rle_to_mask(annotation.rle), masks[annotation.label.name])
