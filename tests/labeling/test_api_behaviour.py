"""API behaviour beyond permissions: optimistic locking (409), error envelope, payload forms, token auth."""
from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image as PILImage

from labeling.masks import mask_to_rle, rle_to_mask
from labeling_factories import box_mask


def _create(w, user=None, mask=None):
    body = {"image": w.image.pk, "label": w.label.pk, "mask": mask or mask_to_rle(box_mask()),
            "clicks": [{"x": 3.5, "y": 2, "positive": True}], "model_name": "default", "mode": "f-brs-b"}
    response = w.client(user or w.annotator).post("/api/annotations/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_stale_update_answers_409_with_current_version(world):
    created = _create(world)
    alice, bob = world.client(world.annotator), world.client(world.manager)
    url = f"/api/annotations/{created['id']}/"
    first = alice.patch(url, {"version": 1, "label": world.label2.pk}, format="json")
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = bob.patch(url, {"version": 1, "mask": mask_to_rle(box_mask(x1=10))}, format="json")
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    assert stale.json()["error"]["details"]["current_version"] == 2
    assert alice.get(url).json()["area"] == 12
    via_header = bob.patch(url, {"mode": "nobrs"}, format="json", HTTP_IF_MATCH='"2"')
    assert via_header.status_code == 200 and via_header.json()["version"] == 3
    assert bob.delete(url + "?version=2").status_code == 409
    assert bob.delete(url, HTTP_IF_MATCH="3").status_code == 204


def test_patch_without_version_is_refused(world):
    created = _create(world)
    response = world.client(world.annotator).patch(f"/api/annotations/{created['id']}/", {"mode": "x"}, format="json")
    assert response.status_code == 428
    assert response.json()["error"]["code"] == "version_required"


def test_response_shape_and_png_payload(world):
    mask = box_mask(x0=0, y0=0, x1=5, y1=3)
    buf = io.BytesIO()
    PILImage.fromarray(mask.astype(np.uint8) * 255).save(buf, format="PNG")
    created = _create(world, mask={"png": base64.b64encode(buf.getvalue()).decode()})
    assert {"id", "image", "label", "rle", "bbox", "area", "clicks", "model_name", "mode", "author",
            "version"} <= set(created)
    assert created["bbox"] == [0, 0, 5, 3] and created["area"] == 15
    np.testing.assert_array_equal(rle_to_mask(created["rle"]), mask)
    assert created["author"]["username"] == "annotator"


def test_bad_mask_is_a_400_envelope(world):
    body = {"image": world.image.pk, "label": world.label.pk, "mask": mask_to_rle(np.ones((3, 3), bool))}
    response = world.client(world.annotator).post("/api/annotations/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_mask"
    missing = world.client(world.annotator).post("/api/annotations/", {"image": world.image.pk}, format="json")
    assert missing.status_code == 400 and "fields" in missing.json()["error"]["details"]


def test_token_auth(world):
    from rest_framework.test import APIClient

    client = APIClient()
    bad = client.post("/api/auth/token/", {"username": "annotator", "password": "wrong"}, format="json")
    assert bad.status_code == 400
    token = client.post("/api/auth/token/", {"username": "annotator", "password": "pw-annotator"},
                        format="json").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(f"/api/projects/{world.project.pk}/").json()["role"] == "annotator"


def test_image_file_serves_the_stored_bytes(world):
    response = world.client(world.reviewer).get(f"/api/images/{world.image.pk}/file/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    world.image.file.open("rb")
    assert b"".join(response.streaming_content) == world.image.file.read()


def test_image_filters(world):
    client = world.client(world.manager)
    client.post(f"/api/images/{world.image.pk}/assign/", {"assignee": world.annotator.pk}, format="json")
    mine = world.client(world.annotator).get(f"/api/images/?project={world.project.pk}&assignee=me").json()
    assert [i["id"] for i in mine["results"]] == [world.image.pk]
    unassigned = client.get(f"/api/images/?project={world.project.pk}&assignee=none").json()
    assert [i["id"] for i in unassigned["results"]] == [world.image2.pk]
    assert client.get("/api/images/?status=new,in_review").json()["count"] == 2  # only its own project
    assert world.client(world.staff).get("/api/images/?status=new").json()["count"] == 3
    assert client.get("/api/images/?status=bogus").status_code == 400


def test_draft_round_trip_and_size_limit(world):
    client = world.client(world.annotator)
    url = f"/api/images/{world.image.pk}/draft/"
    assert client.get(url).status_code == 204
    state = {"objects": [{"clicks": [{"x": 1, "y": 2, "positive": True}]}]}
    assert client.put(url, {"state": state}, format="json").status_code == 200
    assert client.get(url).json()["state"] == state
    huge = client.put(url, {"state": {"blob": "x" * (1024 * 1024)}}, format="json")
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "draft_too_large"


def test_schema_and_offline_docs_page(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/annotations/{annotation_id}/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"drf_spectacular_sidecar/swagger-ui-dist" in docs.content  # assets served locally, not from a CDN


def test_next_image_api_assigns_and_reports_empty(world):
    client = world.client(world.annotator)
    first = client.get(f"/api/projects/{world.project.pk}/next-image/")
    assert first.status_code == 200 and first.json()["assignee"]["id"] == world.annotator.pk
    assert client.get(f"/api/projects/{world.project.pk}/next-image/").json()["id"] == first.json()["id"]
    for image in (world.image, world.image2):
        image.status = "accepted"
        image.save()
    assert client.get(f"/api/projects/{world.project.pk}/next-image/").status_code == 204


def test_delete_with_version_in_json_body(world):
    created = _create(world)
    client = world.client(world.annotator)
    assert client.delete(f"/api/annotations/{created['id']}/", {"version": 2}, format="json").status_code == 409
    assert client.delete(f"/api/annotations/{created['id']}/", {"version": 1}, format="json").status_code == 204


def test_token_endpoint_is_throttled(world, settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.test import APIClient
    from rest_framework.throttling import ScopedRateThrottle

    cache.clear()
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "auth": "3/min"}
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        codes = [APIClient().post("/api/auth/token/", {"username": "annotator", "password": "x"},
                                  format="json").status_code for _ in range(4)]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert codes == [400, 400, 400, 429]
