"""The project page a team works from: thumbnails, progress by status and per person (with clicks and seconds
per object), filters by status and assignee, the number of objects per image, and the reviewer's queue."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from django.utils import timezone

from labeling.models import Image, ImageStatus
from labeling.services.annotations import annotation_create

from labeling_factories import box_mask, make_image


def rows(html: str) -> list[int]:
    """Image ids of the image table, in order."""
    table = html.split('id="image-list"', 1)[1]
    return [int(i) for i in re.findall(r'<tr data-image-id="(\d+)"', table)]


def annotate(world, user, image, clicks: int, seconds: float | None) -> None:
    annotation_create(image=image, user=user, label=world.label, mask=box_mask(), mode="f-brs-b",
                      clicks=[{"x": 1, "y": 1, "positive": True}] * clicks, edit_seconds=seconds)


def test_images_show_thumbnail_and_object_count_and_filter_by_status_and_assignee(world, client):
    annotate(world, world.annotator, world.image, 2, 10)
    annotate(world, world.annotator, world.image, 4, 20)
    Image.objects.filter(pk=world.image2.pk).update(assignee=world.annotator2, status=ImageStatus.IN_REVIEW)
    client.force_login(world.manager)
    url = f"/projects/{world.project.pk}/"
    html = client.get(url).content.decode()
    assert rows(html) == [world.image.pk, world.image2.pk]
    assert f'<img src="/api/images/{world.image.pk}/thumb/"' in html
    counts = re.findall(r'<td class="num objects">(\d+)</td>', html)
    assert counts == ["2", "0"]
    assert rows(client.get(url, {"status": "in_review"}).content.decode()) == [world.image2.pk]
    assert rows(client.get(url, {"assignee": world.annotator2.pk}).content.decode()) == [world.image2.pk]
    assert rows(client.get(url, {"assignee": "none"}).content.decode()) == [world.image.pk]
    assert rows(client.get(url, {"status": "accepted", "assignee": "none"}).content.decode()) == []
    assert rows(client.get(url, {"status": "bogus", "assignee": "x"}).content.decode()) == []
    filters = html.split('id="image-filters"', 1)[1].split("</form>", 1)[0]
    assert f'<option value="{world.annotator2.pk}">annotator2</option>' in filters
    assert ">reviewer<" not in filters, "only people who annotate are assignees"


def test_progress_per_status_and_per_person_with_clicks_and_seconds_per_object(world, client):
    Image.objects.filter(pk=world.image.pk).update(assignee=world.annotator)
    annotate(world, world.annotator, world.image, 2, 10)
    annotate(world, world.annotator, world.image, 4, 20)
    annotate(world, world.annotator2, world.image2, 1, None)
    client.force_login(world.annotator)
    html = client.get(f"/projects/{world.project.pk}/").content.decode()
    assert 'data-status="in_progress">In progress: 2</a>' in html and 'data-status="accepted">Accepted: 0</a>' in html
    assert '<strong id="project-clicks">2.3</strong>' in html and '<strong id="project-seconds">15 s</strong>' in html
    people = html.split('id="people"', 1)[1].split("</table>", 1)[0]
    mine = people.split('data-user="annotator"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num clicks">3.0</td>' in mine and '<td class="num seconds">15</td>' in mine
    other = people.split('data-user="annotator2"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num clicks">1.0</td>' in other and '<td class="num seconds">–</td>' in other
    assert '<a href="?assignee=none">unassigned</a>' in people


def test_the_reviewers_queue_lists_images_waiting_longest_first(world, client):
    third = make_image(world.project)
    now = timezone.now()
    Image.objects.filter(pk=world.image2.pk).update(status=ImageStatus.IN_REVIEW, updated_at=now - timedelta(hours=2))
    Image.objects.filter(pk=third.pk).update(status=ImageStatus.IN_REVIEW, updated_at=now - timedelta(hours=5))
    client.force_login(world.reviewer)
    html = client.get(f"/projects/{world.project.pk}/").content.decode()
    queue = html.split('id="review-queue"', 1)[1].split("</section>", 1)[0]
    assert "Review queue (2)" in queue
    assert [int(i) for i in re.findall(r'<li data-image-id="(\d+)"', queue)] == [third.pk, world.image2.pk]
    assert f'id="start-review" href="/review/{third.pk}/"' in queue
    page = client.get(f"/review/{third.pk}/").content.decode()
    config = json.loads(re.search(r'id="annotator-config" type="application/json">(.*?)</script>', page, re.S)[1])
    assert config["next_review_id"] == world.image2.pk, "after a decision the reviewer goes on to the next one"
    client.force_login(world.annotator)
    assert 'id="review-queue"' not in client.get(f"/projects/{world.project.pk}/").content.decode()


def test_long_projects_are_paged_and_filters_survive_paging(world, client, monkeypatch):
    from labeling import views

    for _ in range(3):
        make_image(world.project)
    monkeypatch.setattr(views, "IMAGES_PER_PAGE", 2)
    client.force_login(world.manager)
    url = f"/projects/{world.project.pk}/"
    first = client.get(url, {"assignee": "none"}).content.decode()
    assert len(rows(first)) == 2 and "page 1 of 3" in first
    assert 'href="?assignee=none&amp;page=2"' in first
    assert len(rows(client.get(url, {"assignee": "none", "page": 3}).content.decode())) == 1
