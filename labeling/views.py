"""HTML pages: project list, a project's images, the annotator and the reviewer view.

The pages are thin shells: they check access (through `labeling.permissions`), then hand the browser a
JSON config (`json_script`) that the ES modules under /static/frontend/ read; everything else goes
through the REST API and the websocket.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse

from labeling import errors
from labeling.models import Image, ImageStatus, Role
from labeling.permissions import Action, access_image, access_project, actions_of, can_edit_image
from labeling.selectors.engine import project_engine_settings, project_mode_options
from labeling.selectors.images import (image_last_review, image_neighbours, image_review_queue,
                                      image_table_of_project)
from labeling.selectors.projects import (label_list, membership_list, project_effort, project_list,
                                        project_progress, project_progress_by_assignee, project_status_counts,
                                        user_effort)

LOGIN_URL = "/accounts/login/"
IMAGES_PER_PAGE = 50
QUEUE_SHOWN = 10


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


def _image_config(request: HttpRequest, image: Image) -> dict:
    """The JSON config shared by the annotator and the reviewer pages."""
    project = image.project
    prev_id, next_id = image_neighbours(image=image, user=request.user)
    actions = actions_of(request.user, project)
    engine = project_engine_settings(project=project)  # working mode and model, with a notice when replaced
    return {
        "image": {"id": image.pk, "width": image.width, "height": image.height, "name": image.original_name,
                  "status": image.status, "file_url": f"/api/images/{image.pk}/file/"},
        "project": {"id": project.pk, "name": project.name, "default_model": engine.model,
                    "default_mode": engine.mode, "url": reverse("labeling:project", args=[project.pk])},
        "modes": project_mode_options(),
        "notices": list(engine.notices),
        "effort": user_effort(project=project, user=request.user),
        "labels": [{"id": lab.pk, "name": lab.name, "color": lab.color} for lab in label_list(project=project)],
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
    projects = list(project_list(user=request.user))
    progress = project_status_counts(project_ids=[p.pk for p in projects])
    rows = []
    for p in projects:
        counts = progress.get(p.pk, {})
        rows.append({"project": p, "total": sum(counts.values()),
                     "cells": [counts.get(value, 0) for value, _ in ImageStatus.choices]})
    return render(request, "labeling/project_list.html", {"rows": rows, "statuses": ImageStatus.choices})


def _progress_rows(progress: dict) -> list[dict]:
    """Per status: value, name, count and share of the project's images (the page's progress bar and links)."""
    total = progress["total"] or 1
    return [{"value": value, "name": name, "count": progress["by_status"][value],
             "percent": round(100 * progress["by_status"][value] / total, 1)} for value, name in ImageStatus.choices]


def _people_rows(by_assignee: list[dict], effort: dict) -> list[dict]:
    """One row per person: images assigned by status, and their objects' clicks and seconds per object."""
    rows: dict[int | None, dict] = {}
    for entry in by_assignee:
        key = entry["user"]["id"] if entry["user"] else None
        rows[key] = {"user": entry["user"], "total": entry["total"],
                     "cells": [entry["by_status"][value] for value in ImageStatus.values], "effort": None}
    for entry in effort["by_annotator"]:
        key = entry["user"]["id"] if entry["user"] else None
        row = rows.setdefault(key, {"user": entry["user"], "total": 0, "cells": [0] * len(ImageStatus.values)})
        row["effort"] = entry
    return sorted(rows.values(), key=lambda r: (r["user"] is None, (r["user"] or {}).get("username") or ""))


@page
def project_page(request: HttpRequest, project_id: int) -> HttpResponse:
    """A project's progress (by status and per person, with clicks and seconds per object), the reviewer's
    queue, and its images (thumbnail, status, assignee, number of objects) filtered by status and assignee."""
    project = access_project(request.user, project_id, Action.VIEW)
    actions = actions_of(request.user, project)
    status = request.GET.get("status") or ""
    assignee = request.GET.get("assignee") or ""
    images = image_table_of_project(user=request.user, project_id=project.pk, status=status or None,
                                    assignee=assignee or None)
    paginator = Paginator(images, IMAGES_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    progress = project_progress(project=project)
    effort = project_effort(project=project)
    can_review = Action.REVIEW in actions
    queue = list(image_review_queue(user=request.user, project_id=project.pk)[:QUEUE_SHOWN + 1]) if can_review else []
    members = [m.user for m in membership_list(project=project) if m.role in (Role.ANNOTATOR, Role.MANAGER)]
    query = {k: v for k, v in (("status", status), ("assignee", assignee)) if v}
    return render(request, "labeling/project.html", {
        "project": project, "images": page_obj, "page_obj": page_obj, "status_filter": status,
        "assignee_filter": assignee, "statuses": ImageStatus.choices, "members": members,
        "filter_query": urlencode(query),
        "progress": progress, "progress_rows": _progress_rows(progress),
        "people": _people_rows(project_progress_by_assignee(project=project), effort), "effort": effort,
        "queue": queue[:QUEUE_SHOWN], "queue_more": len(queue) > QUEUE_SHOWN,
        "queue_count": progress["by_status"][ImageStatus.IN_REVIEW],
        "can_review": can_review, "can_annotate": Action.ANNOTATE in actions,
    })


@page
def annotate_page(request: HttpRequest, image_id: int) -> HttpResponse:
    """The canvas annotator for one image (read-only when the user may not edit it)."""
    image = access_image(request.user, image_id, Action.VIEW)
    config = _image_config(request, image)
    return render(request, "labeling/annotate.html", {"image": image, "config": config,
                                                      "last_review": image_last_review(image=image)})


@page
def review_page(request: HttpRequest, image_id: int) -> HttpResponse:
    """The reviewer's view: the image with its objects, accept / reject with a comment."""
    image = access_image(request.user, image_id, Action.REVIEW)
    config = _image_config(request, image)
    config["next_review_id"] = (image_review_queue(user=request.user, project_id=image.project_id)
                                .exclude(pk=image.pk).values_list("id", flat=True).first())
    return render(request, "labeling/review.html", {"image": image, "config": config,
                                                    "last_review": image_last_review(image=image)})
