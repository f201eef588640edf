"""Stored files are reached only through views that check permissions, in every mode; export files have
unguessable names and still download under a friendly name."""
from __future__ import annotations

import importlib
import re

import pytest
from django.test import Client
from django.urls import clear_url_caches

import webapp.urls
from labeling.exports.jobs import export_job_run
from labeling.models import ExportJob
from labeling.services.thumbnails import thumbnail_get_or_create, thumbnail_path

from export_helpers import add_annotation, ring_mask


def _reload_urls() -> None:
    clear_url_caches()
    importlib.reload(webapp.urls)


@pytest.fixture
def debug_urls(settings):
    """The URL map as `make run` builds it (DJANGO_DEBUG=1); the normal map is restored afterwards."""
    settings.DEBUG = True
    _reload_urls()
    yield
    settings.DEBUG = False
    _reload_urls()


@pytest.fixture
def finished_export(world):
    add_annotation(world.image, world.label, ring_mask(8, 12))
    job = ExportJob.objects.create(project=world.project, format="coco-rle", options={})
    return export_job_run(job_id=job.pk)


def test_debug_mode_serves_no_stored_file_without_a_permission_check(world, finished_export, debug_urls):
    thumbnail_get_or_create(image=world.image)
    anonymous, outsider = Client(), Client()
    outsider.force_login(world.outsider)
    for name in (world.image.file.name, finished_export.file.name, thumbnail_path(image=world.image)):
        for client in (anonymous, outsider):
            assert client.get(f"/media/{name}").status_code == 404, name
    # the checked routes still work in debug mode
    assert world.client(world.manager).get(f"/api/images/{world.image.pk}/file/").status_code == 200
    assert world.client(world.manager).get(f"/api/exports/{finished_export.pk}/download/").status_code == 200
    assert world.client(world.outsider).get(f"/api/images/{world.image.pk}/file/").status_code == 404


def test_export_files_have_random_names_and_download_under_a_friendly_one(world):
    add_annotation(world.image, world.label, ring_mask(8, 12))
    jobs = [export_job_run(job_id=ExportJob.objects.create(project=world.project, format="coco-rle").pk)
            for _ in range(2)]
    names = [job.file.name.rsplit("/", 1)[-1] for job in jobs]
    assert names[0] != names[1]
    for job, name in zip(jobs, names):
        stem = name.split(".", 1)[0]
        assert "Cats" not in name and "coco" not in name
        assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", stem), name  # >= 192 random bits
        response = world.client(world.manager).get(f"/api/exports/{job.pk}/download/")
        assert response.status_code == 200
        assert 'filename="Cats-coco-rle.json"' in response["Content-Disposition"]


def test_admin_image_page_links_the_checked_file_route(world):
    from labeling_factories import make_user

    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/labeling/image/{world.image.pk}/change/").content.decode()
    assert "/media/" not in page
    assert f"/api/images/{world.image.pk}/file/" in page
