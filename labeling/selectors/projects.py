"""Reads about projects: the visible list, the user's roles, labels, members, progress counts and effort."""
from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, QuerySet

from labeling.errors import ClickLabelError
from labeling.models import Annotation, Image, ImageStatus, Label, Membership, Project
from labeling.permissions import scope_projects


def project_list(*, user: Any) -> QuerySet[Project]:
    """Projects the user can see, by name."""
    return scope_projects(Project.objects.all(), user).order_by("name")


def membership_roles(*, user: Any, project_ids: list[int]) -> dict[int, str]:
    """{project_id: the user's role} for those of `project_ids` the user is a member of."""
    return dict(Membership.objects.filter(user_id=user.pk, project_id__in=project_ids)
                .values_list("project_id", "role"))


def label_list(*, project: Project) -> QuerySet[Label]:
    """Labels of the project in display order."""
    return Label.objects.filter(project=project).order_by("order", "id")


def label_get(*, project_id: int, label_id: int) -> Label:
    """The label `label_id` of the project; ClickLabelError 400 ("invalid_label") when the project has no
    such label."""
    label = Label.objects.filter(pk=label_id, project_id=project_id).first()
    if label is None:
        raise ClickLabelError(f"Label {label_id} does not belong to this image's project.", code="invalid_label")
    return label


def membership_list(*, project: Project) -> QuerySet[Membership]:
    """Members of the project with their users."""
    return Membership.objects.filter(project=project).select_related("user").order_by("user__username")


def project_progress(*, project: Project | int) -> dict:
    """Image counts by status: `{"total": n, "by_status": {status: n for every status}, "done_fraction": f}`.

    `done_fraction` is accepted / total (0.0 for an empty project).
    """
    project_id = project.pk if isinstance(project, Project) else project
    counts = dict(Image.objects.filter(project_id=project_id).values("status").annotate(n=Count("id"))
                  .values_list("status", "n"))
    by_status = {status: int(counts.get(status, 0)) for status in ImageStatus.values}
    total = sum(by_status.values())
    return {"total": total, "by_status": by_status,
            "done_fraction": (by_status[ImageStatus.ACCEPTED] / total) if total else 0.0}


def project_status_counts(*, project_ids: list[int]) -> dict[int, dict[str, int]]:
    """{project_id: {status: image count, every status}} for many projects in one query (the project list page)."""
    result: dict[int, dict[str, int]] = {pid: {s: 0 for s in ImageStatus.values} for pid in project_ids}
    rows = (Image.objects.filter(project_id__in=project_ids).values("project_id", "status")
            .annotate(n=Count("id")).values_list("project_id", "status", "n"))
    for project_id, status, n in rows:
        result[project_id][status] = n
    return result


def _user_ref(user_id: int | None, username: str | None) -> dict | None:
    return {"id": user_id, "username": username} if user_id is not None else None


def project_progress_by_assignee(*, project: Project | int) -> list[dict]:
    """Image counts by status per assignee: `[{"user": {"id", "username"} | None, "total", "by_status":
    {status: n for every status}}]`, by username, the unassigned images (user None) last."""
    project_id = project.pk if isinstance(project, Project) else project
    rows = (Image.objects.filter(project_id=project_id).values("assignee_id", "assignee__username", "status")
            .annotate(n=Count("id")).values_list("assignee_id", "assignee__username", "status", "n"))
    people: dict[int | None, dict] = {}
    for user_id, username, status, n in rows:
        entry = people.setdefault(user_id, {"user": _user_ref(user_id, username), "total": 0,
                                            "by_status": {s: 0 for s in ImageStatus.values}})
        entry["by_status"][status] += n
        entry["total"] += n
    return sorted(people.values(), key=lambda e: (e["user"] is None, (e["user"] or {}).get("username") or ""))


def _effort(values: dict) -> dict:
    clicks, seconds = values.get("clicks"), values.get("seconds")
    return {"objects": int(values.get("objects") or 0), "timed_objects": int(values.get("timed") or 0),
            "clicks_per_object": round(clicks, 2) if clicks is not None else None,
            "seconds_per_object": round(seconds, 1) if seconds is not None else None}


_FIGURES = {"objects": Count("id"), "timed": Count("edit_seconds"), "clicks": Avg("n_clicks"),
            "seconds": Avg("edit_seconds")}


def _made_in_annotator(project_id: int) -> QuerySet[Annotation]:
    return Annotation.objects.filter(image__project_id=project_id).exclude(mode="import")


def project_effort(*, project: Project | int) -> dict:
    """The team's effort on the project's objects made in the annotator (COCO imports left out):
    `{"objects", "timed_objects", "clicks_per_object", "seconds_per_object", "by_annotator": [{"user":
    {"id", "username"} | None, ...same figures}]}`.

    `clicks_per_object` is the mean stored click count (None without objects); `seconds_per_object` the mean
    active editing time of the objects whose time is known (`timed_objects`; None when none is).
    """
    made = _made_in_annotator(project.pk if isinstance(project, Project) else project)
    rows = made.values("author_id", "author__username").annotate(**_FIGURES).order_by("author__username")
    return {**_effort(made.aggregate(**_FIGURES)),
            "by_annotator": [{"user": _user_ref(row["author_id"], row["author__username"]), **_effort(row)}
                             for row in rows]}


def user_effort(*, project: Project | int, user: Any) -> dict:
    """One annotator's figures on the project, as in `project_effort` (0 objects and None without objects)."""
    made = _made_in_annotator(project.pk if isinstance(project, Project) else project)
    return _effort(made.filter(author_id=user.pk).aggregate(**_FIGURES))
