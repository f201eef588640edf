"""HTML pages: project list, a project's images, the annotator and the reviewer view.

The pages are thin shells: they check access (through `labeling.permissions`), then hand the browser a
JSON config (`json_script`) that the ES modules under /static/frontend/ read; everything else goes
through the REST API and the websocket.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse

from django.db.models import Count, QuerySet

from labeling import errors
from labeling.models import Image, ImageStatus, Label, Project, Review
from labeling.permissions import (Action, access_image, access_project, actions_of, can_edit_image,
                                  scope_images, scope_projects)

LOGIN_URL = "/accounts/login/"


def page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Require a login and turn the app's NotFound / PermissionDenied into Django's 404 / 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except errors.NotFound as exc:
            raise Http404(exc.message) from None
        except errors.PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None

    return login_required(wrapper, login_url=LOGIN_URL)


def _images(user: Any, project_id: int, status: str | None = None) -> QuerySet[Image]:
    """The project's images the user can see, by id, optionally of one status (unknown status: none)."""
    queryset = scope_images(Image.objects.select_related("assignee"), user).filter(project_id=project_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("id")


def _status_counts(project_ids: list[int]) -> dict[int, dict[str, int]]:
    """{project_id: {status: image count}} in one query."""
    counts: dict[int, dict[str, int]] = {pid: {} for pid in project_ids}
    rows = (Image.objects.filter(project_id__in=project_ids).values("project_id", "status")
            .annotate(n=Count("id")).values_list("project_id", "status", "n"))
    for project_id, status, n in rows:
        counts[project_id][status] = n
    return counts


def _last_review(image: Image) -> Review | None:
    return Review.objects.filter(image=image).order_by("-created_at", "-id").first()


def _neighbours(image: Image, user: Any) -> tuple[int | None, int | None]:
    """Ids of the previous and next image of the same project (by id) that the user can see."""
    images = _images(user, image.project_id)
    prev_id = images.filter(id__lt=image.pk).order_by("-id").values_list("id", flat=True).first()
    next_id = images.filter(id__gt=image.pk).order_by("id").values_list("id", flat=True).first()
    return prev_id, next_id


def _image_config(request: HttpRequest, image: Image) -> dict:
    """The JSON config shared by the annotator and the reviewer pages."""
    project = image.project
    prev_id, next_id = _neighbours(image, request.user)
    actions = actions_of(request.user, project)
    return {
        "image": {"id": image.pk, "width": image.width, "height": image.height, "name": image.original_name,
                  "status": image.status, "file_url": f"/api/images/{image.pk}/file/"},
        "project": {"id": project.pk, "name": project.name, "default_model": project.default_model,
                    "default_mode": project.default_mode, "url": reverse("labeling:project", args=[project.pk])},
        "labels": [{"id": lab.pk, "name": lab.name, "color": lab.color} for lab in Label.objects.filter(project=project).order_by("order", "id")],
        "user": {"id": request.user.pk, "username": request.user.get_username()},
        "can_edit": can_edit_image(request.user, image),
        "can_review": Action.REVIEW in actions,
        "prev_image_id": prev_id,
        "next_image_id": next_id,
        "ws_path": f"/ws/annotate/{image.pk}/",
        "csrf_token": get_token(request),
    }


@page
def project_list_page(request: HttpRequest) -> HttpResponse:
    """The projects the logged-in user belongs to, with image counts by status."""
    projects = list(scope_projects(Project.objects.all(), request.user).order_by("name"))
    progress = _status_counts([p.pk for p in projects])
    rows = []
    for p in projects:
        counts = progress.get(p.pk, {})
        rows.append({"project": p, "total": sum(counts.values()),
                     "cells": [counts.get(value, 0) for value, _ in ImageStatus.choices]})
    return render(request, "labeling/project_list.html", {"rows": rows, "statuses": ImageStatus.choices})


@page
def project_page(request: HttpRequest, project_id: int) -> HttpResponse:
    """A project's images with their status, assignee and links to annotate or review."""
    project = access_project(request.user, project_id, Action.VIEW)
    actions = actions_of(request.user, project)
    status = request.GET.get("status") or None
    images = _images(request.user, project.pk, status)
    return render(request, "labeling/project.html", {
        "project": project, "images": images, "status_filter": status or "", "statuses": ImageStatus.choices,
        "can_review": Action.REVIEW in actions, "can_annotate": Action.ANNOTATE in actions,
    })


@page
def annotate_page(request: HttpRequest, image_id: int) -> HttpResponse:
    """The canvas annotator for one image (read-only when the user may not edit it)."""
    image = access_image(request.user, image_id, Action.VIEW)
    config = _image_config(request, image)
    return render(request, "labeling/annotate.html", {"image": image, "config": config,
                                                      "last_review": _last_review(image)})


@page
def review_page(request: HttpRequest, image_id: int) -> HttpResponse:
    """The reviewer's view: the image with its objects, accept / reject with a comment."""
    image = access_image(request.user, image_id, Action.REVIEW)
    config = _image_config(request, image)
    return render(request, "labeling/review.html", {"image": image, "config": config,
                                                    "last_review": _last_review(image)})
