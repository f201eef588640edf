"""Reads about images: filtered lists, the project page's table, the reviewer's queue, an image's neighbours and
its last review."""
from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from labeling.errors import ClickLabelError
from labeling.models import Image, ImageStatus, Review
from labeling.permissions import scope_images


def image_list(*, user: Any, project_id: int | None = None, status: str | None = None,
               assignee: str | int | None = None) -> QuerySet[Image]:
    """Images the user can see, optionally filtered.

    `status` is one status or several separated by commas; `assignee` is a user id, "me" or "none".
    """
    queryset = scope_images(Image.objects.select_related("project", "assignee"), user)
    if project_id is not None:
        queryset = queryset.filter(project_id=project_id)
    if status:
        statuses = [s.strip() for s in str(status).split(",") if s.strip()]
        bad = [s for s in statuses if s not in ImageStatus.values]
        if bad:
            raise ClickLabelError(f"Unknown status {bad}; use {', '.join(ImageStatus.values)}.", code="invalid_filter")
        queryset = queryset.filter(status__in=statuses)
    if assignee not in (None, ""):
        if assignee == "me":
            queryset = queryset.filter(assignee_id=user.pk)
        elif assignee == "none":
            queryset = queryset.filter(assignee__isnull=True)
        elif str(assignee).isdigit():
            queryset = queryset.filter(assignee_id=int(assignee))
        else:
            raise ClickLabelError("assignee must be a user id, 'me' or 'none'.", code="invalid_filter")
    return queryset.order_by("id")


def image_list_of_project(*, user: Any, project_id: int, status: str | None = None) -> QuerySet[Image]:
    """The project's images the user can see, by id, optionally of one status (an unknown status: none)."""
    queryset = scope_images(Image.objects.select_related("assignee"), user).filter(project_id=project_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("id")


def image_table_of_project(*, user: Any, project_id: int, status: str | None = None,
                           assignee: str | int | None = None) -> QuerySet[Image]:
    """The project page's images: those the user can see, by id, each with `n_objects` (its annotation count).

    `status` one status (unknown: no image); `assignee` a user id, "me" or "none" (anything else: no filter).
    """
    queryset = image_list_of_project(user=user, project_id=project_id, status=status)
    if assignee == "me":
        queryset = queryset.filter(assignee_id=user.pk)
    elif assignee == "none":
        queryset = queryset.filter(assignee__isnull=True)
    elif assignee not in (None, "") and str(assignee).isdigit():
        queryset = queryset.filter(assignee_id=int(assignee))
    return queryset.annotate(n_objects=Count("annotations"))


def image_review_queue(*, user: Any, project_id: int) -> QuerySet[Image]:
    """The reviewer's queue: the project's images waiting for review that the user can see, longest waiting
    first."""
    return (scope_images(Image.objects.select_related("assignee"), user)
            .filter(project_id=project_id, status=ImageStatus.IN_REVIEW).order_by("updated_at", "id"))


def image_neighbours(*, image: Image, user: Any) -> tuple[int | None, int | None]:
    """Ids of the previous and next image of the same project (by id) that the user can see."""
    images = image_list_of_project(user=user, project_id=image.project_id)
    prev_id = images.filter(id__lt=image.pk).order_by("-id").values_list("id", flat=True).first()
    next_id = images.filter(id__gt=image.pk).order_by("id").values_list("id", flat=True).first()
    return prev_id, next_id


def image_last_review(*, image: Image) -> Review | None:
    """The most recent review of the image, or None."""
    return Review.objects.filter(image=image).select_related("reviewer").order_by("-created_at", "-id").first()
