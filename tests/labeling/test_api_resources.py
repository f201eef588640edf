"""The REST API's shape: a root listing the resources, the mask under one name (`rle`) in and out, a project's
images under the project, thumbnails, and the effort figures (clicks and active seconds per object)."""
from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage

from labeling.masks import mask_to_rle, rle_to_mask
from labeling.models import Annotation, ImageStatus
from labeling.services.annotations import annotation_create

from labeling_factories import box_mask, make_image, png_bytes


def test_the_root_lists_the_resources_and_works_without_login(world, client):
    root = client.get("/api/").json()
    for name, path in (("projects", "/api/projects/"), ("images", "/api/images/"),
                       ("annotations", "/api/annotations/"), ("engine", "/api/engine/"),
                       ("auth_token", "/api/auth/token/"), ("schema", "/api/schema/"), ("docs", "/api/docs/")):
        assert root[name].endswith(path), name
    assert root["nested"]["project"]["images"] == "/api/projects/{id}/images/"
    assert root["nested"]["image"]["thumb"] == "/api/images/{id}/thumb/"
    listed = world.client(world.annotator).get(root["projects"]).json()
    assert [p["name"] for p in listed["results"]] == ["Cats"]
    assert client.get("/api/projects/").status_code == 401, "the resources themselves still need a login"


def test_the_mask_is_rle_in_and_out_and_the_old_name_is_still_accepted(world):
    annotator = world.client(world.annotator)
    mask = box_mask()
    body = {"image": world.image.pk, "label": world.label.pk, "rle": mask_to_rle(mask)}
    created = annotator.post("/api/annotations/", body, format="json")
    assert created.status_code == 201
    assert "mask" not in created.json() and (rle_to_mask(created.json()["rle"]) == mask).all()
    again = annotator.post("/api/annotations/", created.json() | {"label": world.label.pk}, format="json")
    assert again.status_code == 201, "a GET body posts back as it is"
    old = annotator.post("/api/annotations/", {"image": world.image.pk, "label": world.label.pk,
                                               "mask": mask_to_rle(mask)}, format="json")
    assert old.status_code == 201
    url = f"/api/annotations/{created.json()['id']}/"
    wider = box_mask(x1=10)
    patched = annotator.patch(url, {"version": 1, "rle": mask_to_rle(wider)}, format="json").json()
    assert (rle_to_mask(patched["rle"]) == wider).all()
    patched = annotator.patch(url, {"version": 2, "mask": mask_to_rle(mask)}, format="json").json()
    assert (rle_to_mask(patched["rle"]) == mask).all()
    missing = annotator.post("/api/annotations/", {"image": world.image.pk, "label": world.label.pk}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["details"]["fields"] == {"rle": ["required"]}


def test_the_images_of_a_project_are_listed_under_it_and_upload_still_works(world):
    manager = world.client(world.manager)
    url = f"/api/projects/{world.project.pk}/images/"
    listed = manager.get(url).json()
    assert listed["count"] == 2 and {i["id"] for i in listed["results"]} == {world.image.pk, world.image2.pk}
    assert listed["results"][0]["thumb_url"] == f"/api/images/{world.image.pk}/thumb/"
    world.image2.status = ImageStatus.ACCEPTED
    world.image2.assignee = world.annotator2
    world.image2.save()
    assert [i["id"] for i in manager.get(url, {"status": "accepted"}).json()["results"]] == [world.image2.pk]
    assert [i["id"] for i in manager.get(url, {"assignee": "none"}).json()["results"]] == [world.image.pk]
    assert world.client(world.outsider).get(url).status_code == 404
    assert manager.get(url, {"status": "bogus"}).status_code == 400
    upload = manager.post(url, {"files": [io.BytesIO(png_bytes(9, 9, seed=5))]}, format="multipart")
    assert upload.status_code == 201 and upload.json()["counts"]["accepted"] == 1
    assert manager.get(url).json()["count"] == 3


def test_thumbnails_are_small_jpegs_for_members_only(world):
    big = make_image(world.project, width=400, height=200)
    response = world.client(world.reviewer).get(f"/api/images/{big.pk}/thumb/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with PILImage.open(io.BytesIO(response.content)) as thumb:
        assert thumb.size == (96, 48)
    assert world.client(world.outsider).get(f"/api/images/{big.pk}/thumb/").status_code == 404


def _annotate(world, user, image, clicks: int, seconds: float | None, mode: str = "f-brs-b") -> Annotation:
    return annotation_create(image=image, user=user, label=world.label, mask=box_mask(),
                             clicks=[{"x": 1, "y": 1, "positive": True}] * clicks, mode=mode, edit_seconds=seconds)


def test_annotations_store_their_active_seconds_and_click_count(world):
    annotator = world.client(world.annotator)
    body = {"image": world.image.pk, "label": world.label.pk, "rle": mask_to_rle(box_mask()), "edit_seconds": 12.5,
            "clicks": [{"x": 3, "y": 2, "positive": True}, {"x": 1, "y": 1, "positive": False}]}
    created = annotator.post("/api/annotations/", body, format="json").json()
    assert (created["edit_seconds"], created["n_clicks"]) == (12.5, 2)
    url = f"/api/annotations/{created['id']}/"
    patched = annotator.patch(url, {"version": 1, "edit_seconds": 20, "clicks": body["clicks"][:1]}, format="json")
    assert (patched.json()["edit_seconds"], patched.json()["n_clicks"]) == (20.0, 1)
    for bad in (-1, 1e9, "soon"):
        response = annotator.patch(url, {"version": 2, "edit_seconds": bad}, format="json")
        assert response.status_code == 400, bad
    assert annotator.get(url).json()["edit_seconds"] == 20.0


def test_progress_counts_per_status_and_assignee_and_effort_per_annotator(world):
    world.image.assignee = world.annotator
    world.image.save()
    _annotate(world, world.annotator, world.image, clicks=3, seconds=10)
    _annotate(world, world.annotator, world.image, clicks=5, seconds=None)   # time unknown: not in the mean
    _annotate(world, world.annotator2, world.image2, clicks=2, seconds=30)
    _annotate(world, world.manager, world.image2, clicks=0, seconds=None, mode="import")  # imports left out
    progress = world.client(world.reviewer).get(f"/api/projects/{world.project.pk}/progress/").json()
    assert progress["total"] == 2 and progress["by_status"]["in_progress"] == 2
    by_assignee = {(row["user"] or {}).get("username"): row for row in progress["by_assignee"]}
    assert by_assignee["annotator"]["total"] == 1 and by_assignee["annotator"]["by_status"]["in_progress"] == 1
    assert by_assignee[None]["total"] == 1
    effort = progress["effort"]
    assert (effort["objects"], effort["timed_objects"]) == (3, 2)
    assert effort["clicks_per_object"] == pytest.approx(10 / 3, abs=0.01)
    assert effort["seconds_per_object"] == 20.0
    people = {row["user"]["username"]: row for row in effort["by_annotator"]}
    assert set(people) == {"annotator", "annotator2"}
    assert (people["annotator"]["objects"], people["annotator"]["clicks_per_object"],
            people["annotator"]["seconds_per_object"]) == (2, 4.0, 10.0)
    assert people["annotator2"]["seconds_per_object"] == 30.0
