"""Races between writers, with real threads (one database connection each), on SQLite and PostgreSQL.

- An annotation write that read its image before a submit cannot change the image once it is in review:
  the write re-checks the image's status with a conditional UPDATE on the image row.
- A project always keeps at least one manager: demoting or removing the last one is refused, whoever asks,
  also when two managers demote or remove each other at the same time.

Tests whose transactions overlap (one holds its transaction open while the other writes) run on PostgreSQL
only: SQLite's IMMEDIATE transactions serialize every writer anyway, and the in-memory test database
answers overlapping writers with "table is locked" instead of waiting.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import pytest
from django.db import connection, connections, transaction

from labeling.errors import ClickLabelError
from labeling.models import Annotation, Image, ImageStatus, Membership, Role
from labeling.permissions import access_annotation, access_image
from labeling.services.annotations import annotation_create, annotation_delete, annotation_update
from labeling.services.projects import membership_remove, membership_set
from labeling.services.workflow import image_submit

from labeling_factories import box_mask

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 1.0  # how long a thread holds its transaction open while the other one tries to write


def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("overlapping transactions: PostgreSQL only (DATABASE_URL=postgres://...)")


class Worker(threading.Thread):
    """Runs `fn()` in its own thread (and database connection); `.result` holds the value or the exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.fn = fn
        self.result: Any = None
        self.finished_at: float | None = None

    def run(self) -> None:
        try:
            self.result = self.fn()
        except Exception as exc:  # asserted on by the test
            self.result = exc
        finally:
            self.finished_at = time.monotonic()
            connections.close_all()

    def value(self, timeout: float = 30) -> Any:
        self.join(timeout)
        assert not self.is_alive(), "worker thread hung"
        return self.result


@pytest.fixture
def started(world):
    """world.image in progress with one annotation by the annotator (version 1)."""
    ann = annotation_create(image=world.image, user=world.annotator, label=world.label, mask=box_mask())
    return world, ann


def _edit(op: str, world, ann: Annotation, snapshot: Annotation) -> Callable[[], Any]:
    """The annotator's write `op` using objects read before the submit (`snapshot`)."""
    if op == "update":
        return lambda: annotation_update(annotation=snapshot, user=world.annotator, version=1, mode="late")
    if op == "delete":
        return lambda: annotation_delete(annotation=snapshot, user=world.annotator, version=1)
    return lambda: annotation_create(image=snapshot.image, user=world.annotator, label=world.label,
                                     mask=box_mask(x0=7, x1=9))


@pytest.mark.parametrize("op", ["update", "delete", "create"])
def test_a_write_that_read_the_image_before_a_submit_cannot_change_it_in_review(started, op):
    world, ann = started
    read, submitted = threading.Event(), threading.Event()

    def annotator_tab() -> Any:
        snapshot = access_annotation(world.annotator, ann.pk)  # image still in progress
        read.set()
        submitted.wait(10)
        return _edit(op, world, ann, snapshot)()

    def other_tab() -> Any:
        read.wait(10)
        try:
            return image_submit(image=access_image(world.annotator, world.image.pk), user=world.annotator)
        finally:
            submitted.set()

    editor, submitter = Worker(annotator_tab), Worker(other_tab)
    editor.start(), submitter.start()
    assert isinstance(submitter.value(), Image)
    assert isinstance(editor.value(), ClickLabelError), editor.result
    assert Image.objects.get(pk=world.image.pk).status == ImageStatus.IN_REVIEW
    assert list(Annotation.objects.filter(image=world.image).values_list("pk", "version", "mode")) == [
        (ann.pk, 1, "")]


def test_a_manager_may_still_fix_an_image_in_review(started):
    world, ann = started
    image_submit(image=world.image, user=world.annotator)
    updated = annotation_update(annotation=Annotation.objects.get(pk=ann.pk), user=world.manager, version=1,
                                mode="fixed")
    assert updated.version == 2 and Image.objects.get(pk=world.image.pk).status == ImageStatus.IN_REVIEW


@pytest.mark.postgres
@pytest.mark.parametrize("op", ["update", "delete", "create"])
def test_a_write_racing_an_uncommitted_submit_waits_and_is_refused(started, op):
    _postgres_only()
    world, ann = started
    snapshot = access_annotation(world.annotator, ann.pk)
    submitted = threading.Event()

    def submit_and_hold() -> Any:
        with transaction.atomic():
            image = image_submit(image=access_image(world.annotator, world.image.pk), user=world.annotator)
            submitted.set()
            time.sleep(WAIT)
        return image

    submitter = Worker(submit_and_hold)
    submitter.start()
    assert submitted.wait(10)
    editor = Worker(_edit(op, world, ann, snapshot))
    editor.start()
    assert isinstance(submitter.value(), Image)
    assert isinstance(editor.value(), ClickLabelError), editor.result
    assert list(Annotation.objects.filter(image=world.image).values_list("pk", "version", "mode")) == [
        (ann.pk, 1, "")]


@pytest.mark.postgres
def test_a_submit_racing_an_uncommitted_write_waits_for_it(started):
    _postgres_only()
    world, ann = started
    written = threading.Event()
    committed_at: list[float] = []

    def write_and_hold() -> Any:
        with transaction.atomic():
            result = annotation_update(annotation=access_annotation(world.annotator, ann.pk), user=world.annotator,
                                       version=1, mode="first")
            written.set()
            time.sleep(WAIT)
        committed_at.append(time.monotonic())
        return result

    editor = Worker(write_and_hold)
    editor.start()
    assert written.wait(10)
    submitter = Worker(lambda: image_submit(image=access_image(world.annotator, world.image.pk),
                                            user=world.annotator))
    submitter.start()
    assert isinstance(editor.value(), Annotation)
    assert isinstance(submitter.value(), Image), submitter.result
    assert submitter.finished_at >= committed_at[0]  # the submit saw the edit: it waited for its commit
    assert Annotation.objects.get(pk=ann.pk).mode == "first"


# --- the last manager --------------------------------------------------------------------------------

def _managers(project) -> list[int]:
    return sorted(Membership.objects.filter(project=project, role=Role.MANAGER).values_list("user_id", flat=True))


@pytest.mark.parametrize("who", ["manager", "staff"])
def test_the_last_manager_cannot_be_demoted_or_removed(world, who):
    actor = getattr(world, who)
    with pytest.raises(ClickLabelError) as demoted:
        membership_set(project=world.project, user=actor, member=world.manager, role=Role.ANNOTATOR)
    with pytest.raises(ClickLabelError) as removed:
        membership_remove(project=world.project, user=actor, member=world.manager)
    assert demoted.value.code == removed.value.code == "last_manager"
    assert _managers(world.project) == [world.manager.pk]


def test_the_last_manager_cannot_demote_themselves_through_the_api(world):
    client = world.client(world.manager)
    response = client.post(f"/api/projects/{world.project.pk}/members/",
                           {"user": world.manager.username, "role": "annotator"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "last_manager"
    response = client.delete(f"/api/projects/{world.project.pk}/members/{world.manager.pk}/")
    assert response.status_code == 400
    assert _managers(world.project) == [world.manager.pk]


def test_a_manager_may_step_down_while_another_stays(world):
    membership_set(project=world.project, user=world.manager, member=world.reviewer, role=Role.MANAGER)
    membership_set(project=world.project, user=world.manager, member=world.manager, role=Role.REVIEWER)
    assert _managers(world.project) == [world.reviewer.pk]


@pytest.mark.parametrize("change", ["demote", "remove"])
def test_two_managers_stepping_down_at_once_leave_one(world, change):
    membership_set(project=world.project, user=world.manager, member=world.reviewer, role=Role.MANAGER)
    concurrent = connection.vendor == "postgresql"  # SQLite: one writer after the other (module docstring)
    barrier = threading.Barrier(2 if concurrent else 1)

    def step_down(member) -> Callable[[], Any]:
        def run() -> Any:
            barrier.wait(10)
            return _step_down(world.project, member, change)
        return run

    workers = [Worker(step_down(world.manager)), Worker(step_down(world.reviewer))]
    for worker in workers:
        worker.start()
        if not concurrent:
            worker.join(30)
    results = [worker.value() for worker in workers]
    assert len(_managers(world.project)) == 1, results
    assert sum(isinstance(r, ClickLabelError) and r.code == "last_manager" for r in results) == 1, results


def _step_down(project, member, change: str) -> Any:
    if change == "demote":
        return membership_set(project=project, user=member, member=member, role=Role.ANNOTATOR)
    return membership_remove(project=project, user=member, member=member)


@pytest.mark.postgres
@pytest.mark.parametrize("change", ["demote", "remove"])
def test_a_manager_change_racing_an_uncommitted_one_waits_and_is_refused(world, change):
    _postgres_only()
    membership_set(project=world.project, user=world.manager, member=world.reviewer, role=Role.MANAGER)
    changed = threading.Event()

    def first() -> Any:
        with transaction.atomic():
            result = _step_down(world.project, world.manager, change)
            changed.set()
            time.sleep(WAIT)
        return result

    holder = Worker(first)
    holder.start()
    assert changed.wait(10)
    second = Worker(lambda: _step_down(world.project, world.reviewer, change))
    second.start()
    holder.value()
    assert isinstance(second.value(), ClickLabelError) and second.result.code == "last_manager", second.result
    assert _managers(world.project) == [world.reviewer.pk]


def _admin_project_form(project, roles: dict[int, str]) -> dict:
    """The admin change form of `project` as posted, with membership roles replaced by `roles`."""
    data = {"name": project.name, "description": project.description, "default_model": project.default_model,
            "default_mode": project.default_mode, "adapt_every": project.adapt_every, "_save": "Save"}
    labels = list(project.labels.order_by("order", "id"))
    data.update({"labels-TOTAL_FORMS": str(len(labels)), "labels-INITIAL_FORMS": str(len(labels)),
                 "labels-MIN_NUM_FORMS": "0", "labels-MAX_NUM_FORMS": "1000"})
    for i, label in enumerate(labels):
        data.update({f"labels-{i}-id": str(label.pk), f"labels-{i}-project": str(project.pk),
                     f"labels-{i}-name": label.name, f"labels-{i}-color": label.color,
                     f"labels-{i}-order": str(label.order)})
    members = list(project.memberships.order_by("id"))
    data.update({"memberships-TOTAL_FORMS": str(len(members)), "memberships-INITIAL_FORMS": str(len(members)),
                 "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000"})
    for i, membership in enumerate(members):
        data.update({f"memberships-{i}-id": str(membership.pk), f"memberships-{i}-project": str(project.pk),
                     f"memberships-{i}-user": str(membership.user_id),
                     f"memberships-{i}-role": roles.get(membership.user_id, membership.role)})
    return data


def test_the_admin_cannot_demote_the_last_manager_either(world):
    from django.test import Client

    from labeling_factories import make_user

    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    url = f"/admin/labeling/project/{world.project.pk}/change/"
    response = client.post(url, _admin_project_form(world.project, {world.manager.pk: Role.ANNOTATOR}))
    assert response.status_code == 200 and "at least one manager" in response.content.decode()
    assert _managers(world.project) == [world.manager.pk]
    response = client.post(url, _admin_project_form(world.project, {world.manager.pk: Role.ANNOTATOR,
                                                                     world.reviewer.pk: Role.MANAGER}))
    assert response.status_code == 302 and _managers(world.project) == [world.reviewer.pk]
