"""The HTML pages: login required, membership checked, and the annotator's JSON config."""
from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image as PILImage

from labeling.models import Image, Label, Membership, Project, Role

pytestmark = pytest.mark.django_db


def png_bytes(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def make_image(project: Project, name: str, width: int = 12, height: int = 8, color=(10, 20, 30)) -> Image:
    data = png_bytes(width, height, color)
    checksum = hashlib.sha256(data).hexdigest()
    image = Image(project=project, original_name=name, checksum=checksum)
    image.file.save(name, ContentFile(data), save=False)
    image.width, image.height = width, height  # FieldFile.save leaves the dimension fields None
    image.save()
    return image


@pytest.fixture()
def world():
    users = {name: get_user_model().objects.create_user(name, password="pw-" + name)
             for name in ("ann", "rev", "outsider")}
    project = Project.objects.create(name="Cats", default_mode="grabcut")
    other = Project.objects.create(name="Secret")
    Membership.objects.create(project=project, user=users["ann"], role=Role.ANNOTATOR)
    Membership.objects.create(project=project, user=users["rev"], role=Role.REVIEWER)
    Membership.objects.create(project=other, user=users["outsider"], role=Role.MANAGER)
    Label.objects.create(project=project, name="dog", color="#00ff00", order=2)
    Label.objects.create(project=project, name="cat", color="#ff0000", order=1)
    images = [make_image(project, f"img{i}.png", color=(i, i, i)) for i in range(3)]
    return {"users": users, "project": project, "other": other, "images": images}


def config_of(response) -> dict:
    html = response.content.decode()
    m = re.search(r'<script id="annotator-config" type="application/json">(.*?)</script>', html, re.S)
    assert m, "the page carries its JSON config"
    return json.loads(m.group(1))


@pytest.mark.parametrize("url", ["/", "/projects/1/", "/annotate/1/", "/review/1/"])
def test_pages_redirect_anonymous_users_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_login_page_logs_in_and_redirects_home(client, world):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "ann", "password": "pw-ann"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_project_list_shows_only_member_projects_with_counts(client, world):
    client.force_login(world["users"]["ann"])
    html = client.get("/").content.decode()
    assert "Cats" in html
    assert "Secret" not in html
    assert re.search(r"<td>3</td>", html), "the image total is listed"


def test_project_page_lists_images_and_hides_other_projects(client, world):
    client.force_login(world["users"]["ann"])
    project = world["project"]
    html = client.get(f"/projects/{project.pk}/").content.decode()
    for image in world["images"]:
        assert f'data-image-id="{image.pk}"' in html
    assert f"/review/{world['images'][0].pk}/" not in html, "annotators get no review links"
    assert 'id="next-for-me"' in html and "frontend/project.js" in html
    assert client.get(f"/projects/{world['other'].pk}/").status_code == 404
    world["images"][1].status = "accepted"
    world["images"][1].save()
    filtered = client.get(f"/projects/{project.pk}/?status=accepted").content.decode()
    assert filtered.count("data-image-id=") == 1


def test_annotator_page_config(client, world):
    client.force_login(world["users"]["ann"])
    first, middle, last = world["images"]
    response = client.get(f"/annotate/{middle.pk}/")
    assert response.status_code == 200
    cfg = config_of(response)
    assert cfg["image"] == {"id": middle.pk, "width": 12, "height": 8, "name": "img1.png", "status": "new",
                            "file_url": f"/api/images/{middle.pk}/file/"}
    assert [lab["name"] for lab in cfg["labels"]] == ["cat", "dog"], "labels in display order"
    assert cfg["project"]["default_mode"] == "grabcut"
    assert (cfg["prev_image_id"], cfg["next_image_id"]) == (first.pk, last.pk)
    assert cfg["ws_path"] == f"/ws/annotate/{middle.pk}/"
    assert cfg["can_edit"] is True and cfg["can_review"] is False
    assert cfg["csrf_token"]
    assert "frontend/annotator.js" in response.content.decode()
    assert config_of(client.get(f"/annotate/{first.pk}/"))["prev_image_id"] is None


def test_reviewers_get_review_links_and_no_next_image_button(client, world):
    client.force_login(world["users"]["rev"])
    html = client.get(f"/projects/{world['project'].pk}/").content.decode()
    assert f"/review/{world['images'][0].pk}/" in html
    assert 'id="next-for-me"' not in html


def test_annotator_page_is_read_only_for_reviewers_and_hidden_from_outsiders(client, world):
    image = world["images"][0]
    client.force_login(world["users"]["rev"])
    cfg = config_of(client.get(f"/annotate/{image.pk}/"))
    assert cfg["can_edit"] is False and cfg["can_review"] is True
    client.force_login(world["users"]["outsider"])
    assert client.get(f"/annotate/{image.pk}/").status_code == 404
    assert client.get("/annotate/999999/").status_code == 404


def test_review_page_needs_the_review_right(client, world):
    image = world["images"][0]
    client.force_login(world["users"]["ann"])
    assert client.get(f"/review/{image.pk}/").status_code == 403
    client.force_login(world["users"]["rev"])
    response = client.get(f"/review/{image.pk}/")
    assert response.status_code == 200
    assert "frontend/review.js" in response.content.decode()
    assert config_of(response)["image"]["id"] == image.pk


def test_static_modules_exist_for_every_page_script():
    from django.contrib.staticfiles import finders
    for name in ("annotator.js", "review.js", "project.js", "state.js", "canvas.js", "transport.js", "rle.js",
                 "tools/click.js", "tools/brush.js", "css/app.css"):
        assert finders.find(f"frontend/{name}"), name
