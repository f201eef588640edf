"""labeling.services.workflow + selectors: transitions, submit, review, next image, progress, drafts."""
from __future__ import annotations

import pytest

from labeling.errors import ClickLabelError, Conflict, PermissionDenied
from labeling.models import Image, ImageStatus, Review
from labeling.selectors.projects import project_progress
from labeling.services.projects import label_create, membership_remove, membership_set, project_create
from labeling.services.workflow import (InvalidTransition, image_assign, image_next_for_user, image_reset_status,
                                        image_review, image_submit, image_transition)

from labeling_factories import make_image

S = ImageStatus


def test_transition_table_allows_the_workflow_and_refuses_jumps(world):
    image = world.image
    for target in (S.IN_PROGRESS, S.ANNOTATED, S.IN_REVIEW, S.REJECTED, S.IN_PROGRESS):
        image_transition(image=image, to=target)
    assert Image.objects.get(pk=image.pk).status == S.IN_PROGRESS
    with pytest.raises(InvalidTransition) as info:
        image_transition(image=image, to=S.ACCEPTED)
    assert info.value.details["allowed"] == [S.ANNOTATED]
    with pytest.raises(ClickLabelError, match="Unknown status"):
        image_transition(image=image, to="done")


def test_concurrent_status_write_conflicts(world):
    stale = Image.objects.get(pk=world.image.pk)
    image_transition(image=world.image, to=S.IN_PROGRESS)
    with pytest.raises(Conflict):
        image_transition(image=stale, to=S.IN_PROGRESS)


def test_submit_then_review_records_who_and_why(world):
    image_submit(image=world.image, user=world.annotator)
    world.image.refresh_from_db()
    assert world.image.status == S.IN_REVIEW and world.image.assignee == world.annotator
    with pytest.raises(InvalidTransition):
        image_submit(image=world.image, user=world.annotator)
    with pytest.raises(ClickLabelError, match="comment"):
        image_review(image=world.image, user=world.reviewer, decision="reject")
    with pytest.raises(PermissionDenied):
        image_review(image=world.image, user=world.annotator, decision="accept")
    review = image_review(image=world.image, user=world.reviewer, decision="reject", comment="tail missing")
    assert (review.reviewer, review.decision, review.comment) == (world.reviewer, "reject", "tail missing")
    world.image.refresh_from_db()
    assert world.image.status == S.REJECTED
    image_submit(image=world.image, user=world.annotator)  # rejected → in_progress → annotated → in_review
    image_review(image=world.image, user=world.reviewer, decision="accept")
    assert Image.objects.get(pk=world.image.pk).status == S.ACCEPTED
    assert Review.objects.filter(image=world.image).count() == 2
    with pytest.raises(InvalidTransition):
        image_review(image=world.image, user=world.reviewer, decision="accept")
    image_reset_status(image=world.image, user=world.manager)
    assert Image.objects.get(pk=world.image.pk).status == S.NEW


def test_next_image_prefers_mine_then_claims_unassigned_once(world):
    third = make_image(world.project)
    image_assign(image=third, user=world.manager, assignee=world.annotator)
    assert image_next_for_user(project=world.project, user=world.annotator) == third
    got1 = image_next_for_user(project=world.project, user=world.annotator2)
    assert got1 == world.image and Image.objects.get(pk=world.image.pk).assignee == world.annotator2
    got2 = image_next_for_user(project=world.project, user=world.manager)
    assert got2 == world.image2
    image_submit(image=third, user=world.annotator)
    assert image_next_for_user(project=world.project, user=world.annotator) is None
    with pytest.raises(PermissionDenied):
        image_next_for_user(project=world.project, user=world.reviewer)


def test_assign_only_to_people_who_annotate(world):
    with pytest.raises(ClickLabelError, match="cannot annotate"):
        image_assign(image=world.image, user=world.manager, assignee=world.reviewer)
    with pytest.raises(PermissionDenied):
        image_assign(image=world.image, user=world.annotator, assignee=world.annotator)


def test_progress_counts_by_status(world):
    image_submit(image=world.image, user=world.annotator)
    progress = project_progress(project=world.project)
    assert progress["total"] == 2
    assert progress["by_status"][S.IN_REVIEW] == 1 and progress["by_status"][S.NEW] == 1
    assert sum(progress["by_status"].values()) == 2 and progress["done_fraction"] == 0.0


def test_projects_labels_members(world):
    with pytest.raises(PermissionDenied):
        project_create(user=world.manager, name="Birds")
    project = project_create(user=world.staff, name="Birds")
    assert project.memberships.get().role == "manager"
    with pytest.raises(Conflict):
        project_create(user=world.staff, name="Birds")
    label_create(project=world.project, user=world.manager, name="bird", color="#ABCDEF")
    with pytest.raises(Conflict):
        label_create(project=world.project, user=world.manager, name="bird")
    with pytest.raises(ClickLabelError, match="rrggbb"):
        label_create(project=world.project, user=world.manager, name="fish", color="red")
    membership_set(project=world.project, user=world.manager, member=world.outsider, role="reviewer")
    with pytest.raises(ClickLabelError, match="manager"):
        membership_remove(project=world.project, user=world.manager, member=world.manager)
