"""Reads about projects: the visible list, the user's roles, labels, members and progress counts."""
from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from labeling.errors import ClickLabelError
from labeling.models import Image, ImageStatus, Label, Membership, Project
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
