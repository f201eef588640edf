"""Who may do what — the one place where project access is decided.

A user's power in a project comes from their `Membership.role` looked up in `ROLE_ACTIONS`; active
staff and superusers may do everything everywhere. Objects of projects a user cannot see are
reported as missing (`NotFound`, 404), never as forbidden, so ids of other projects leak nothing.

Three kinds of helpers:
- `can(user, project, action)` / `require(user, project, action)`: the role × action table;
- `access_project` / `access_image` / `access_annotation`: fetch by id AND authorize (Zulip style),
  so a caller cannot forget the check;
- `scope_projects` / `scope_images` / `scope_annotations`: filter list querysets by membership.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db.models import QuerySet

from labeling.errors import NotFound, PermissionDenied
from labeling.models import Annotation, Image, ImageStatus, Membership, Project, Role


class Action(StrEnum):
    """Things a user may do inside a project."""

    VIEW = "view"                      # see the project, its labels, members, images, annotations, progress
    ANNOTATE = "annotate"              # annotate images (see `can_edit_image` for the per-image rule)
    REVIEW = "review"                  # accept / reject submitted images
    MANAGE_PROJECT = "manage_project"  # edit project settings
    MANAGE_LABELS = "manage_labels"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_IMAGES = "manage_images"    # upload, assign, reset status, annotate any image
    EXPORT = "export"
    IMPORT = "import"


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.ANNOTATOR: frozenset({Action.VIEW, Action.ANNOTATE}),
    Role.REVIEWER: frozenset({Action.VIEW, Action.REVIEW}),
    Role.MANAGER: frozenset(Action),
}

# Statuses in which a plain annotator may still change an image's annotations.
ANNOTATOR_EDITABLE_STATUSES = frozenset({ImageStatus.NEW, ImageStatus.IN_PROGRESS,
                                         ImageStatus.ANNOTATED, ImageStatus.REJECTED})


def is_admin(user: Any) -> bool:
    """Active staff or superuser: administers every project."""
    return bool(user and user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


def can_create_project(user: Any) -> bool:
    """Staff, or users granted Django's `labeling.add_project` permission."""
    return bool(user and user.is_authenticated and user.is_active
                and (is_admin(user) or user.has_perm("labeling.add_project")))


def role_of(user: Any, project: Project | int) -> str | None:
    """The user's role in the project (a `Role` value), or None when not a member."""
    if not (user and user.is_authenticated and user.is_active):
        return None
    project_id = project.pk if isinstance(project, Project) else project
    return (Membership.objects.filter(project_id=project_id, user_id=user.pk)
            .values_list("role", flat=True).first())


def actions_of(user: Any, project: Project | int) -> frozenset[Action]:
    """Everything the user may do in the project."""
    if is_admin(user):
        return frozenset(Action)
    role = role_of(user, project)
    return ROLE_ACTIONS.get(role, frozenset()) if role else frozenset()


def can(user: Any, project: Project | int, action: Action) -> bool:
    """True when the user may perform `action` in the project."""
    return action in actions_of(user, project)


def require(user: Any, project: Project | int, action: Action) -> None:
    """Raise NotFound when the user cannot see the project, PermissionDenied when `action` is not theirs."""
    actions = actions_of(user, project)
    if Action.VIEW not in actions:
        raise NotFound("Project not found.")
    if action not in actions:
        raise PermissionDenied(f"Your role in this project does not allow '{action}'.",
                               details={"action": str(action)})


def can_edit_image(user: Any, image: Image) -> bool:
    """May the user change the annotations / draft / status of this image as its annotator?

    Managers and staff: always. Annotators: images assigned to them or unassigned, while the image is
    not submitted (new, in progress, annotated or rejected).
    """
    actions = actions_of(user, image.project_id)
    if Action.MANAGE_IMAGES in actions:
        return True
    if Action.ANNOTATE not in actions:
        return False
    return image.assignee_id in (None, user.pk) and image.status in ANNOTATOR_EDITABLE_STATUSES


def require_image_edit(user: Any, image: Image) -> None:
    """Raise NotFound / PermissionDenied unless `can_edit_image`."""
    require(user, image.project_id, Action.VIEW)
    if not can_edit_image(user, image):
        if not can(user, image.project_id, Action.ANNOTATE):
            raise PermissionDenied("Your role in this project does not allow annotating.")
        if image.assignee_id not in (None, user.pk):
            raise PermissionDenied("This image is assigned to another annotator.")
        raise PermissionDenied(f"The image is '{image.status}' and can no longer be edited by annotators.",
                               details={"status": image.status})


# --- list scoping ---------------------------------------------------------------------------------

def scope_projects(queryset: QuerySet[Project], user: Any) -> QuerySet[Project]:
    """Only the projects the user can see."""
    if is_admin(user):
        return queryset
    if not (user and user.is_authenticated and user.is_active):
        return queryset.none()
    return queryset.filter(memberships__user_id=user.pk).distinct()


def scope_images(queryset: QuerySet[Image], user: Any) -> QuerySet[Image]:
    """Only images of projects the user can see."""
    if is_admin(user):
        return queryset
    if not (user and user.is_authenticated and user.is_active):
        return queryset.none()
    return queryset.filter(project__memberships__user_id=user.pk)


def scope_annotations(queryset: QuerySet[Annotation], user: Any) -> QuerySet[Annotation]:
    """Only annotations of images of projects the user can see."""
    if is_admin(user):
        return queryset
    if not (user and user.is_authenticated and user.is_active):
        return queryset.none()
    return queryset.filter(image__project__memberships__user_id=user.pk)


# --- fetch and authorize ----------------------------------------------------------------------------

def _pk(value: Any, what: str) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound(f"{what} not found.") from None
    if pk <= 0:
        raise NotFound(f"{what} not found.")
    return pk


def access_project(user: Any, project_id: Any, action: Action = Action.VIEW) -> Project:
    """Fetch a project the user may act on (NotFound if missing or invisible, PermissionDenied if not allowed)."""
    project = Project.objects.filter(pk=_pk(project_id, "Project")).first()
    if project is None:
        raise NotFound("Project not found.")
    require(user, project, action)
    return project


def access_image(user: Any, image_id: Any, action: Action = Action.VIEW, *, for_update: bool = False) -> Image:
    """Fetch an image and check `action` in its project; `for_update` locks the row (inside a transaction)."""
    queryset = Image.objects.select_related("project")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    image = queryset.filter(pk=_pk(image_id, "Image")).first()
    if image is None:
        raise NotFound("Image not found.")
    try:
        require(user, image.project_id, action)
    except NotFound:
        raise NotFound("Image not found.") from None
    return image


def access_annotation(user: Any, annotation_id: Any, action: Action = Action.VIEW) -> Annotation:
    """Fetch an annotation and check `action` in its image's project."""
    annotation = (Annotation.objects.select_related("image", "image__project", "label")
                  .filter(pk=_pk(annotation_id, "Annotation")).first())
    if annotation is None:
        raise NotFound("Annotation not found.")
    try:
        require(user, annotation.image.project_id, action)
    except NotFound:
        raise NotFound("Annotation not found.") from None
    return annotation
