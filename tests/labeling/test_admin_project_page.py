"""The project's admin page: registered modes and models only, a colour picker for labels, members chosen by
user name, images added on the same page, and an export page with the status filter in view."""
from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from labeling.models import ExportJob, Image, Label, Project

from labeling_factories import make_user, png_bytes


@pytest.fixture
def admin_client_(world):
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def change_url(project: Project) -> str:
    return f"/admin/labeling/project/{project.pk}/change/"


def form_data(project: Project, **over) -> dict:
    """A change-form POST that keeps the inlines as they are."""
    data = {"name": project.name, "description": project.description, "default_model": "default",
            "default_mode": "f-brs-b", "adapt_every": project.adapt_every}
    for prefix in ("labels", "memberships"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0",
                     f"{prefix}-MAX_NUM_FORMS": "1000"})
    data.update(over)
    return data


def test_the_change_page_offers_choices_a_colour_picker_an_autocomplete_and_an_upload(world, admin_client_):
    page = admin_client_.get(change_url(world.project)).content.decode()
    assert '<select name="default_mode"' in page and ">Precise — f-BRS-B</option>" in page
    assert ">Fast — NoBRS</option>" in page
    assert '<select name="default_model"' in page and '<option value="default"' in page
    assert 'type="color" name="labels-0-color" value="#00ff00"' in page
    assert 'class="admin-autocomplete' in page and 'data-field-name="user"' in page
    assert 'type="file" name="upload" multiple' in page
    assert f"/admin/labeling/project/{world.project.pk}/export/" in page


def test_unknown_modes_models_and_paths_are_refused(world, admin_client_):
    for bad in ({"default_mode": "f-brs-x"}, {"default_model": "/srv/weights/secret.pth"},
                {"default_model": "gone"}):
        response = admin_client_.post(change_url(world.project), form_data(world.project, **bad))
        assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    world.project.refresh_from_db()
    assert (world.project.default_mode, world.project.default_model) == ("f-brs-b", "default")
    assert admin_client_.post(change_url(world.project),
                              form_data(world.project, default_mode="nobrs")).status_code == 302
    world.project.refresh_from_db()
    assert world.project.default_mode == "nobrs"


def test_a_project_stored_with_a_vanished_mode_opens_and_must_be_given_a_known_one(world, admin_client_):
    Project.objects.filter(pk=world.project.pk).update(default_mode="f-brs-x", default_model="/old/path.pth")
    assert admin_client_.get(change_url(world.project)).status_code == 200
    response = admin_client_.post(change_url(world.project), form_data(world.project))
    assert response.status_code == 302
    world.project.refresh_from_db()
    assert (world.project.default_mode, world.project.default_model) == ("f-brs-b", "default")


def test_label_colours_must_be_colours(world, admin_client_):
    data = form_data(world.project, **{"labels-TOTAL_FORMS": "1", "labels-0-name": "bird", "labels-0-color": "red",
                                       "labels-0-order": "3"})
    response = admin_client_.post(change_url(world.project), data)
    assert response.status_code == 200 and "Pick a colour" in response.content.decode()
    data["labels-0-color"] = "#A0B0C0"
    assert admin_client_.post(change_url(world.project), data).status_code == 302
    assert Label.objects.get(project=world.project, name="bird").color == "#a0b0c0"


def test_members_are_found_by_user_name(world, admin_client_):
    response = admin_client_.get("/admin/autocomplete/", {"app_label": "labeling", "model_name": "membership",
                                                         "field_name": "user", "term": "annotator2"})
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["annotator2"]
    data = form_data(world.project, **{"memberships-TOTAL_FORMS": "1", "memberships-0-user": world.outsider.pk,
                                       "memberships-0-role": "reviewer"})
    assert admin_client_.post(change_url(world.project), data).status_code == 302
    assert world.project.memberships.get(user=world.outsider).role == "reviewer"


def test_images_and_zips_chosen_on_the_project_page_are_added_on_save(world, admin_client_):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inside.png", png_bytes(10, 10, seed=77))
    files = [SimpleUploadedFile("a.png", png_bytes(9, 7, seed=76)), SimpleUploadedFile("pack.zip", archive.getvalue()),
             SimpleUploadedFile("bad.png", b"not an image")]
    before = Image.objects.filter(project=world.project).count()
    response = admin_client_.post(change_url(world.project), form_data(world.project, upload=files), follow=True)
    assert Image.objects.filter(project=world.project).count() == before + 2
    assert "2 image(s) added, 1 file(s) refused." in response.content.decode()


def test_the_export_page_exports_accepted_images_unless_told_otherwise(world, admin_client_):
    url = f"/admin/labeling/project/{world.project.pk}/export/"
    page = admin_client_.get(url).content.decode()
    assert 'value="accepted" id="id_statuses_4" checked' in page
    assert 'value="in_review" id="id_statuses_3">' in page and "cat" in page and "dog" in page
    response = admin_client_.post(url, {"format": "voc", "statuses": ["accepted", "in_review"],
                                        "labels": [world.label.pk]})
    job = ExportJob.objects.get(project=world.project)
    assert response.status_code == 302 and response["Location"].endswith(f"/exportjob/{job.pk}/change/")
    assert job.format == "voc" and job.options["statuses"] == ["accepted", "in_review"]
    assert job.options["labels"] == [world.label.pk]
    assert admin_client_.post(url, {"format": "voc"}).status_code == 200, "at least one status"
    assert ExportJob.objects.count() == 1
