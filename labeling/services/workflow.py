"""Image workflow: status transitions, assignment, next image to annotate, submit and review.

Statuses move along `TRANSITIONS` only:
    new → in_progress → annotated → in_review → accepted / rejected; rejected → in_progress;
    annotated → in_progress (reopen before submit); accepted → in_progress (reopen by a manager).
A manager's "reset" bypasses the table. Every status write is a conditional
`UPDATE ... WHERE status = <expected>`, so two concurrent writers cannot both succeed.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from labeling.errors import ClickLabelError, Conflict, NotFound
from labeling.models import AnnotationDraft, Image, ImageStatus, Project, Review, ReviewDecision
from labeling.permissions import Action, can, require, require_image_edit
from labeling.services.adaptation import adaptation_job_start_if_due

S = ImageStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.IN_PROGRESS}),
    S.IN_PROGRESS: frozenset({S.ANNOTATED}),
    S.ANNOTATED: frozenset({S.IN_REVIEW, S.IN_PROGRESS}),
    S.IN_REVIEW: frozenset({S.ACCEPTED, S.REJECTED}),
    S.REJECTED: frozenset({S.IN_PROGRESS}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS}),
}

# Submitting walks these steps from the current status to in_review.
SUBMIT_PATHS: dict[str, tuple[str, ...]] = {
    S.NEW: (S.IN_PROGRESS, S.ANNOTATED, S.IN_REVIEW),
    S.IN_PROGRESS: (S.ANNOTATED, S.IN_REVIEW),
    S.ANNOTATED: (S.IN_REVIEW,),
    S.REJECTED: (S.IN_PROGRESS, S.ANNOTATED, S.IN_REVIEW),
}

REVIEW_OUTCOME: dict[str, str] = {ReviewDecision.ACCEPT: S.ACCEPTED, ReviewDecision.REJECT: S.REJECTED}

# Statuses next-image hands out.
OPEN_STATUSES = (S.NEW, S.IN_PROGRESS, S.REJECTED)


class InvalidTransition(ClickLabelError):
    """The image's current status does not allow the requested change (HTTP 409)."""

    status = 409
    code = "invalid_transition"


def _check_transition(current: str, target: str) -> None:
    if target not in S.values:
        raise ClickLabelError(f"Unknown status '{target}'.", code="invalid_status")
    if target not in TRANSITIONS.get(current, frozenset()):
        allowed = sorted(TRANSITIONS.get(current, frozenset()))
        raise InvalidTransition(f"Cannot move an image from '{current}' to '{target}'.",
                                details={"from": current, "to": target, "allowed": allowed})


def _conditional_status_update(image: Image, expected: str, target: str, **extra: Any) -> None:
    """UPDATE image SET status=target WHERE id=... AND status=expected; Conflict if someone was faster."""
    now = timezone.now()
    updated = Image.objects.filter(pk=image.pk, status=expected).update(status=target, updated_at=now, **extra)
    if not updated:
        current = Image.objects.filter(pk=image.pk).values_list("status", flat=True).first()
        if current is None:
            raise NotFound("Image not found.")
        raise Conflict(f"The image status changed concurrently (now '{current}').",
                       details={"status": current, "expected": expected})
    image.status = target
    image.updated_at = now
    for key, value in extra.items():
        setattr(image, key, value)


@transaction.atomic
def image_transition(*, image: Image, to: str) -> Image:
    """Move `image` one step along `TRANSITIONS` (no authorization: callers check it). Returns the image."""
    _check_transition(image.status, to)
    _conditional_status_update(image, image.status, to)
    return image


@transaction.atomic
def image_start(*, image: Image) -> Image:
    """Mark work started: new / rejected → in_progress; other statuses are left alone."""
    if image.status in (S.NEW, S.REJECTED):
        _conditional_status_update(image, image.status, S.IN_PROGRESS)
    return image


@transaction.atomic
def image_submit(*, image: Image, user: Any) -> Image:
    """Submit the image for review (→ in_review via in_progress/annotated); the submitter keeps it assigned.

    Raises PermissionDenied unless the user may edit the image, InvalidTransition from in_review/accepted.
    The user's autosave draft of the image is discarded.
    """
    require(user, image.project_id, Action.VIEW)
    path = SUBMIT_PATHS.get(image.status)
    if path is None:
        raise InvalidTransition(f"An image that is '{image.status}' cannot be submitted.",
                                details={"from": image.status, "to": S.IN_REVIEW})
    require_image_edit(user, image)
    if image.assignee_id is None:
        Image.objects.filter(pk=image.pk, assignee__isnull=True).update(assignee=user)
        image.assignee = user
    for target in path:
        _conditional_status_update(image, image.status, target)
    AnnotationDraft.objects.filter(image=image, user=user).delete()
    return image


@transaction.atomic
def image_review(*, image: Image, user: Any, decision: str, comment: str = "") -> Review:
    """Accept or reject an image that is in review; records who, when and the comment.

    A rejection needs a comment (what to fix). Raises PermissionDenied for non-reviewers,
    InvalidTransition unless the image is in_review, ClickLabelError on a bad decision.
    """
    require(user, image.project_id, Action.REVIEW)
    if decision not in REVIEW_OUTCOME:
        raise ClickLabelError("decision must be 'accept' or 'reject'.", code="invalid_decision",
                              details={"decision": decision})
    comment = (comment or "").strip()
    if decision == ReviewDecision.REJECT and not comment:
        raise ClickLabelError("A rejection needs a comment saying what to fix.", code="comment_required")
    if image.status != S.IN_REVIEW:
        raise InvalidTransition(f"Only images in review can be reviewed; this one is '{image.status}'.",
                                details={"from": image.status, "to": REVIEW_OUTCOME[decision]})
    _conditional_status_update(image, S.IN_REVIEW, REVIEW_OUTCOME[decision])
    review = Review.objects.create(image=image, reviewer=user, decision=decision, comment=comment)
    if decision == ReviewDecision.ACCEPT:
        adaptation_job_start_if_due(project=Project.objects.get(pk=image.project_id))
    return review


@transaction.atomic
def image_reset_status(*, image: Image, user: Any, to: str = S.NEW) -> Image:
    """Manager override: put the image back to `to` (default new) whatever its status."""
    require(user, image.project_id, Action.MANAGE_IMAGES)
    if to not in S.values:
        raise ClickLabelError(f"Unknown status '{to}'.", code="invalid_status")
    _conditional_status_update(image, image.status, to)
    return image


@transaction.atomic
def image_assign(*, image: Image, user: Any, assignee: Any | None) -> Image:
    """Manager: assign the image to `assignee` (a project member who may annotate) or unassign (None)."""
    require(user, image.project_id, Action.MANAGE_IMAGES)
    if assignee is not None and not can(assignee, image.project_id, Action.ANNOTATE):
        raise ClickLabelError(f"'{assignee}' cannot annotate in this project.", code="invalid_assignee")
    now = timezone.now()
    Image.objects.filter(pk=image.pk).update(assignee=assignee, updated_at=now)
    image.assignee = assignee
    image.updated_at = now
    return image


def image_next_for_user(*, project: Project, user: Any, max_tries: int = 20) -> Image | None:
    """The next image for the user to annotate, assigned atomically; None when nothing is left.

    Images already assigned to the user (new / in progress / rejected) come first, then the oldest
    unassigned one, claimed with `UPDATE ... WHERE assignee IS NULL` so two annotators never get the same.
    """
    require(user, project, Action.ANNOTATE)
    open_images = Image.objects.filter(project=project, status__in=OPEN_STATUSES).order_by("id")
    mine = open_images.filter(assignee_id=user.pk).first()
    if mine is not None:
        return mine
    for _ in range(max_tries):
        candidate = open_images.filter(assignee__isnull=True).values_list("pk", flat=True).first()
        if candidate is None:
            return None
        with transaction.atomic():
            claimed = Image.objects.filter(pk=candidate, assignee__isnull=True).update(
                assignee_id=user.pk, updated_at=timezone.now())
        if claimed:
            return Image.objects.select_related("project").get(pk=candidate)
    raise Conflict("Could not claim an image: too much contention, try again.")

