"""Django admin: progress columns, thumbnails, assign/reset actions, bulk upload page, export action."""
from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image as PILImage

from labeling.models import ExportJob, Image, ImageStatus
from labeling.services.thumbnails import thumbnail_path

from labeling_factories import make_user, png_bytes


@pytest.fixture
def admin_client_(world):
    superuser = make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(superuser)
    return client


def test_project_list_and_change_page_show_progress(world, admin_client_):
    world.image.status = ImageStatus.ACCEPTED
    world.image.save()
    listing = admin_client_.get("/admin/labeling/project/").content.decode()
    assert "Accepted: <b>1</b>" in listing and "New: <b>1</b>" in listing
    change = admin_client_.get(f"/admin/labeling/project/{world.project.pk}/change/").content.decode()
    assert "2 images" in change and "50% accepted" in change
    assert 'name="labels-0-name"' in change  # label inline
    assert 'name="memberships-0-role"' in change


def test_thumbnail_is_small_jpeg_and_cached(world, admin_client_):
    listing = admin_client_.get("/admin/labeling/image/").content.decode()
    assert f"/admin/labeling/image/{world.image.pk}/thumb/" in listing
    response = admin_client_.get(f"/admin/labeling/image/{world.image.pk}/thumb/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with PILImage.open(io.BytesIO(response.content)) as thumb:
        assert max(thumb.size) <= 96
    assert default_storage.exists(thumbnail_path(image=world.image))


def test_assign_action_uses_an_intermediate_form(world, admin_client_):
    ids = [str(world.image.pk), str(world.image2.pk)]
    form = admin_client_.post("/admin/labeling/image/", {"action": "assign_to_annotator", "_selected_action": ids})
    page = form.content.decode()
    assert form.status_code == 200 and "annotator2" in page and ">reviewer<" not in page
    done = admin_client_.post("/admin/labeling/image/", {"action": "assign_to_annotator", "_selected_action": ids,
                                                          "apply": "1", "assignee": world.annotator2.pk})
    assert done.status_code == 302
    assert set(Image.objects.filter(pk__in=ids).values_list("assignee", flat=True)) == {world.annotator2.pk}


def test_reset_status_action(world, admin_client_):
    world.image.status = ImageStatus.IN_REVIEW
    world.image.save()
    admin_client_.post("/admin/labeling/image/", {"action": "reset_status", "_selected_action": [world.image.pk]})
    assert Image.objects.get(pk=world.image.pk).status == ImageStatus.NEW


def test_bulk_upload_page_reports_accepted_and_refused(world, admin_client_):
    url = f"/admin/labeling/project/{world.project.pk}/upload/"
    assert b'type="file" name="files" multiple' in admin_client_.get(url).content
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inside.png", png_bytes(10, 10, seed=99))
    files = [SimpleUploadedFile("a.png", png_bytes(9, 7, seed=42)), SimpleUploadedFile("bad.png", b"not an image"),
             SimpleUploadedFile("pack.zip", archive.getvalue())]
    before = Image.objects.filter(project=world.project).count()
    page = admin_client_.post(url, {"files": files}).content.decode()
    assert Image.objects.filter(project=world.project).count() == before + 2
    assert "bad.png" in page and "1 added, 1 refused" in page and "pack.zip: 1 added, 0 refused" in page


def test_export_action_shows_the_status_filter_and_exports_accepted_images_by_default(world, admin_client_):
    form = admin_client_.post("/admin/labeling/project/", {"action": "export_projects",
                                                            "_selected_action": [world.project.pk]})
    page = form.content.decode()
    assert form.status_code == 200 and not ExportJob.objects.exists(), "the options come first"
    assert 'name="statuses" value="accepted" id="id_statuses_4" checked' in page
    assert 'name="statuses" value="rejected"' in page and "accepted images unless you tick others" in page
    admin_client_.post("/admin/labeling/project/", {"action": "export_projects", "apply": "1", "format": "coco-rle",
                                                     "statuses": ["accepted"], "_selected_action": [world.project.pk]})
    job = ExportJob.objects.get(project=world.project)
    assert job.format == "coco-rle" and job.options["statuses"] == ["accepted"]


def test_admin_relabel_bumps_the_annotation_version(world, admin_client_):
    from labeling.masks import mask_to_rle
    from labeling.models import Annotation
    from labeling_factories import box_mask

    ann = Annotation.objects.create(image=world.image, label=world.label, rle=mask_to_rle(box_mask()),
                                    bbox=[2, 1, 4, 3], area=12, author=world.annotator)
    response = admin_client_.post(f"/admin/labeling/annotation/{ann.pk}/change/", {"label": world.label2.pk})
    assert response.status_code == 302
    ann.refresh_from_db()
    assert (ann.label_id, ann.version) == (world.label2.pk, 2)
