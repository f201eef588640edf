"""Defect: a project with an unknown default mode or model left the annotator stuck. Projects accept only the
engine's registered modes and models (service, API, admin — the admin in test_admin_project_page.py), and the
annotator page runs a working mode and model, with a visible notice, when the configured ones are gone."""
from __future__ import annotations

import json
import re

import pytest

from inference.catalog import MODE_INFO, MODES
from labeling.errors import ClickLabelError
from labeling.models import Project
from labeling.selectors.engine import project_engine_settings
from labeling.services.projects import project_create, project_update


def config_of(response) -> dict:
    m = re.search(r'<script id="annotator-config" type="application/json">(.*?)</script>', response.content.decode(),
                  re.S)
    assert m, "the page carries its JSON config"
    return json.loads(m.group(1))


@pytest.mark.parametrize("fields, code", [
    ({"default_mode": "f-brs-x"}, "invalid_mode"),
    ({"default_model": "/srv/weights/private.pth"}, "invalid_model"),
    ({"default_model": "not-registered"}, "invalid_model"),
])
def test_services_refuse_unregistered_modes_models_and_paths(world, fields, code):
    with pytest.raises(ClickLabelError) as err:
        project_update(project=world.project, user=world.manager, **fields)
    assert err.value.code == code
    with pytest.raises(ClickLabelError):
        project_create(user=world.staff, name="New", **fields)
    updated = project_update(project=world.project, user=world.manager, default_mode="nobrs", default_model="default")
    assert (updated.default_mode, updated.default_model) == ("nobrs", "default")


def test_the_worker_extra_models_are_registered_names_too(world, monkeypatch):
    monkeypatch.setenv("CLICKLABEL_WORKER_MODELS", "tiny=/srv/tiny.pth")
    assert project_update(project=world.project, user=world.manager, default_model="tiny").default_model == "tiny"


def test_the_api_offers_choices_and_refuses_free_text(world):
    manager = world.client(world.manager)
    url = f"/api/projects/{world.project.pk}/"
    for body, code in (({"default_mode": "f-brs-x"}, "invalid"), ({"default_model": "../../etc/weights.pth"},
                                                                   "invalid_model")):
        response = manager.patch(url, body, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == code
        assert "etc/weights" not in response.content.decode() or code == "invalid"
    assert manager.patch(url, {"default_mode": "grabcut"}, format="json").json()["default_mode"] == "grabcut"
    created = world.client(world.staff).post("/api/projects/", {"name": "Birds"}, format="json")
    assert created.status_code == 201 and (created.json()["default_mode"], created.json()["default_model"]) == (
        "f-brs-b", "default")
    refused = world.client(world.staff).post("/api/projects/", {"name": "Fish", "default_mode": "fast"}, format="json")
    assert refused.status_code == 400
    engine = world.client(world.annotator).get("/api/engine/").json()
    assert [m["name"] for m in engine["modes"]][0] == "f-brs-b" and set(engine["models"]) >= {"default"}
    assert {m["name"] for m in engine["modes"]} == set(MODES)
    assert all(m["title"] and m["summary"] and m["technical"] for m in engine["modes"])


def test_the_settings_of_a_project_whose_mode_and_model_vanished(world):
    Project.objects.filter(pk=world.project.pk).update(default_mode="f-brs-x", default_model="/old/host/ckpt.pth")
    world.project.refresh_from_db()
    settings = project_engine_settings(project=world.project)
    assert (settings.mode, settings.model) == ("f-brs-b", "default")
    assert len(settings.notices) == 2 and "f-brs-x" in settings.notices[0] and "Precise" in settings.notices[0]
    assert "/old/host" not in " ".join(settings.notices), "no path reaches the page"
    Project.objects.filter(pk=world.project.pk).update(default_mode="nobrs", default_model="default")
    world.project.refresh_from_db()
    assert project_engine_settings(project=world.project).notices == ()


def test_the_annotator_page_falls_back_to_a_working_mode_with_a_notice(world, client):
    Project.objects.filter(pk=world.project.pk).update(default_mode="f-brs-x", default_model="gone-model")
    client.force_login(world.annotator)
    response = client.get(f"/annotate/{world.image.pk}/")
    cfg = config_of(response)
    assert cfg["project"]["default_mode"] in MODES and cfg["project"]["default_model"] == "default"
    assert any("f-brs-x" in n for n in cfg["notices"]) and any("model" in n for n in cfg["notices"])
    assert [m["name"] for m in cfg["modes"]] == list(MODE_INFO)
    assert 'id="engine-notice"' in response.content.decode()


def test_a_healthy_project_has_no_notice_and_offers_people_names(world, client):
    client.force_login(world.annotator)
    cfg = config_of(client.get(f"/annotate/{world.image.pk}/"))
    assert cfg["notices"] == [] and cfg["project"]["default_mode"] == "f-brs-b"
    titles = {m["name"]: (m["title"], m["technical"]) for m in cfg["modes"]}
    assert titles["nobrs"] == ("Fast", "NoBRS") and titles["f-brs-b"] == ("Precise", "f-BRS-B")


def test_a_checkpoint_path_stored_earlier_is_never_shown(world):
    Project.objects.filter(pk=world.project.pk).update(default_model="/srv/private/weights/ckpt.pth")
    member = world.client(world.annotator)
    assert member.get(f"/api/projects/{world.project.pk}/").json()["default_model"] == ""
    listed = member.get("/api/projects/").json()["results"]
    assert "/srv/private" not in str(listed)
    Project.objects.filter(pk=world.project.pk).update(default_model="default")
    assert member.get(f"/api/projects/{world.project.pk}/").json()["default_model"] == "default"


def test_the_live_socket_defaults_to_working_names_too(world):
    from labeling.live.access import image_context

    Project.objects.filter(pk=world.project.pk).update(default_mode="f-brs-x", default_model="/srv/ckpt.pth")
    ctx = image_context(world.annotator, world.image.pk)
    assert (ctx.default_mode, ctx.default_model) == ("f-brs-b", "default")
