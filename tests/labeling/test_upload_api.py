"""POST /api/projects/{id}/images/: multipart upload through the REST API."""
from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Image

from upload_helpers import media_files, png, zip_of


def _post(client, project_id, *files):
    return client.post(f"/api/projects/{project_id}/images/",
                       {"files": [SimpleUploadedFile(name, data) for name, data in files]}, format="multipart")


def test_manager_uploads_images_and_a_zip(world):
    response = _post(world.client(world.manager), world.project.pk, ("a.png", png(seed=1)),
                     ("more.zip", zip_of({"z/b.png": png(seed=2), "../c.png": png(seed=3)})))
    assert response.status_code == 201
    body = response.json()
    assert sorted(a["name"] for a in body["accepted"]) == ["a.png", "z/b.png"]
    assert [r["code"] for r in body["refused"]] == ["unsafe_path"]
    assert Image.objects.filter(pk__in=[a["image_id"] for a in body["accepted"]]).count() == 2


def test_svg_disguised_as_png_is_a_400_with_the_reason_and_nothing_written(world):
    before = (Image.objects.count(), media_files())
    response = _post(world.client(world.manager), world.project.pk,
                     ("cat.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "upload_rejected" and "SVG drawing" in error["message"]
    assert error["details"]["refused"][0]["name"] == "cat.png"
    assert (Image.objects.count(), media_files()) == before


def test_corrupt_zip_is_a_400(world):
    before = (Image.objects.count(), media_files())
    response = _post(world.client(world.manager), world.project.pk, ("x.zip", b"PK\x03\x04broken"))
    assert response.status_code == 400 and "not a readable zip" in response.json()["error"]["message"]
    assert (Image.objects.count(), media_files()) == before


def test_no_files_is_a_400(world):
    response = world.client(world.manager).post(f"/api/projects/{world.project.pk}/images/", {}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "no_files"


def test_annotators_cannot_upload_and_outsiders_do_not_see_the_project(world):
    assert _post(world.client(world.annotator), world.project.pk, ("a.png", png(seed=4))).status_code == 403
    assert _post(world.client(world.outsider), world.project.pk, ("a.png", png(seed=4))).status_code == 404
    assert _post(world.client(None), world.project.pk, ("a.png", png(seed=4))).status_code == 401
