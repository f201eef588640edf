"""seed_demo: users, project, labels and images, idempotent, passwords generated once and kept private."""
from __future__ import annotations

import io
import json
import stat

from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from labeling.models import Image, Membership, Project


def test_seed_demo_is_idempotent_and_keeps_passwords(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    creds_file = tmp_path / "demo_credentials.json"
    creds = json.loads(creds_file.read_text())
    assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600
    assert f"admin / {creds['admin']}" in out.getvalue()
    login = RequestFactory().post("/accounts/login/")  # every login names its request (django-axes)
    admin = authenticate(login, username="admin", password=creds["admin"])
    assert admin is not None and admin.is_superuser
    assert authenticate(login, username="annotator", password=creds["annotator"]) is not None
    project = Project.objects.get(name="Demo: shapes")
    assert list(project.labels.values_list("name", flat=True)) == ["circle", "square", "triangle"]
    assert Membership.objects.get(project=project, user__username="annotator").role == "annotator"
    images = Image.objects.filter(project=project)
    assert images.count() == 4 and {(i.width, i.height) for i in images} == {(320, 240)}
    call_command("seed_demo", stdout=io.StringIO())
    assert json.loads(creds_file.read_text()) == creds
    assert Image.objects.filter(project=project).count() == 4 and Project.objects.count() == 1
