"""Projects, their labels and their members."""
from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction

from labeling.errors import ClickLabelError, Conflict, PermissionDenied
from labeling.models import Label, Membership, Project, Role
from labeling.permissions import Action, can_create_project, require
from labeling.selectors.engine import project_mode_names, project_model_choices
from labeling.selectors.model_versions import model_version_get_promoted

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
PROJECT_FIELDS = ("name", "description", "default_model", "default_mode", "adapt_every")


def _clean_project_fields(fields: dict[str, Any], project: Project | None = None) -> dict[str, Any]:
    unknown = set(fields) - set(PROJECT_FIELDS)
    if unknown:
        raise ClickLabelError(f"Unknown project fields: {sorted(unknown)}.", code="invalid_fields")
    if "name" in fields and not str(fields["name"]).strip():
        raise ClickLabelError("A project needs a name.", code="invalid_name")
    if "adapt_every" in fields and (isinstance(fields["adapt_every"], bool) or not isinstance(fields["adapt_every"], int)
                                    or fields["adapt_every"] < 0):
        raise ClickLabelError("adapt_every must be an integer >= 0.", code="invalid_adapt_every")
    modes = project_mode_names()
    if "default_mode" in fields and fields["default_mode"] not in modes:
        raise ClickLabelError(f"default_mode must be one of {', '.join(modes)}.", code="invalid_mode")
    models = [name for name, _ in project_model_choices()]
    model = fields.get("default_model")
    if model is not None and model not in models and (  # registered names or the project's versions, never paths
            project is None or model_version_get_promoted(project_id=project.pk, name=str(model)) is None):
        raise ClickLabelError(f"default_model must be a registered model ({', '.join(models)}) or a promoted "
                              f"version of this project.", code="invalid_model")
    return {k: (str(v).strip() if k == "name" else v) for k, v in fields.items()}


@transaction.atomic
def project_create(*, user: Any, name: str, description: str = "", default_model: str = "default",
                   default_mode: str = "f-brs-b") -> Project:
    """Create a project; the creator becomes its manager. Staff (or `labeling.add_project`) only."""
    if not can_create_project(user):
        raise PermissionDenied("Only staff can create projects.")
    fields = _clean_project_fields({"name": name, "description": description, "default_model": default_model,
                                    "default_mode": default_mode})
    if Project.objects.filter(name=fields["name"]).exists():
        raise Conflict(f"A project named '{fields['name']}' already exists.", code="duplicate_name")
    project = Project.objects.create(**fields)
    Membership.objects.create(project=project, user=user, role=Role.MANAGER)
    return project


@transaction.atomic
def project_update(*, project: Project, user: Any, **fields: Any) -> Project:
    """Change name / description / default_model / default_mode / adapt_every (managers); mode and model must be
    registered names (`labeling.selectors.engine`), or the model one of the project's promoted versions."""
    require(user, project, Action.MANAGE_PROJECT)
    fields = _clean_project_fields(fields, project)
    if "name" in fields and Project.objects.filter(name=fields["name"]).exclude(pk=project.pk).exists():
        raise Conflict(f"A project named '{fields['name']}' already exists.", code="duplicate_name")
    for key, value in fields.items():
        setattr(project, key, value)
    project.save(update_fields=list(fields) or None)
    return project


def _clean_label(name: Any, color: Any) -> tuple[str, str]:
    name = str(name or "").strip()
    if not name or len(name) > 100:
        raise ClickLabelError("A label needs a name of 1 to 100 characters.", code="invalid_label")
    if not isinstance(color, str) or not COLOR_RE.match(color):
        raise ClickLabelError("color must look like #rrggbb.", code="invalid_color")
    return name, color.lower()


@transaction.atomic
def label_create(*, project: Project, user: Any, name: str, color: str = "#ff0000", order: int | None = None) -> Label:
    """Add a label to the project (managers); names are unique per project."""
    require(user, project, Action.MANAGE_LABELS)
    name, color = _clean_label(name, color)
    if order is None:
        order = Label.objects.filter(project=project).count()
    try:
        with transaction.atomic():
            return Label.objects.create(project=project, name=name, color=color, order=max(0, int(order)))
    except IntegrityError:
        raise Conflict(f"The project already has a label '{name}'.", code="duplicate_label") from None


@transaction.atomic
def label_update(*, label: Label, user: Any, name: str | None = None, color: str | None = None,
                 order: int | None = None) -> Label:
    """Rename / recolour / reorder a label (managers)."""
    require(user, label.project_id, Action.MANAGE_LABELS)
    new_name, new_color = _clean_label(label.name if name is None else name, label.color if color is None else color)
    if Label.objects.filter(project_id=label.project_id, name=new_name).exclude(pk=label.pk).exists():
        raise Conflict(f"The project already has a label '{new_name}'.", code="duplicate_label")
    label.name, label.color = new_name, new_color
    if order is not None:
        label.order = max(0, int(order))
    label.save()
    return label


def _lock_project(project: Project) -> None:
    """Lock the project's row until the transaction ends (PostgreSQL; SQLite's IMMEDIATE transactions
    already admit one writer at a time), so membership changes of one project run one after the other."""
    list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True))


def _keep_a_manager(project: Project, member: Any) -> None:
    """Refuse (400, "last_manager") when `member` is the project's only manager. Callers hold the project lock."""
    managers = list(Membership.objects.filter(project=project, role=Role.MANAGER).values_list("user_id", flat=True))
    if managers == [member.pk]:
        raise ClickLabelError("A project keeps at least one manager: make someone else manager first.",
                              code="last_manager")


@transaction.atomic
def membership_set(*, project: Project, user: Any, member: Any, role: str) -> Membership:
    """Add `member` to the project with `role`, or change their role (managers).

    The last manager cannot be demoted (by anyone): checked under the project's row lock, so two managers
    stepping down at once leave one.
    """
    _lock_project(project)
    require(user, project, Action.MANAGE_MEMBERS)
    if role not in Role.values:
        raise ClickLabelError(f"role must be one of {', '.join(Role.values)}.", code="invalid_role")
    if role != Role.MANAGER:
        _keep_a_manager(project, member)
    membership, _ = Membership.objects.update_or_create(project=project, user=member, defaults={"role": role})
    return membership


@transaction.atomic
def membership_remove(*, project: Project, user: Any, member: Any) -> None:
    """Remove `member` from the project (managers); the last manager cannot be removed (see membership_set)."""
    _lock_project(project)
    require(user, project, Action.MANAGE_MEMBERS)
    membership = Membership.objects.filter(project=project, user=member).first()
    if membership is None:
        return
    _keep_a_manager(project, member)
    membership.delete()
