"""A project's model versions: record a round's candidate (promoted: weights file in media storage and the
project's model switched to it; refused: figures and reason only), and roll the project back."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from inference.adaptation.names import version_name, version_storage_name
from labeling.errors import ClickLabelError, Conflict
from labeling.models import AdaptationJob, ModelDecision, ModelVersion, Project
from labeling.permissions import Action, require
from labeling.selectors.model_versions import model_version_get_promoted


def _headline(figures: dict | None) -> dict | None:
    if not figures:
        return None
    return {k: figures[k] for k in ("noc85", "noc90", "nof85", "nof90", "n") if k in figures}


def model_version_record(*, project: Project, job: AdaptationJob | None, parent: str, round_json: dict,
                         candidate: Path | None) -> ModelVersion:
    """Store a round's outcome as the project's next version, in one transaction: with `candidate` (promoted)
    the file is saved to `models/project-<id>/v<n>.pth` and the project's `default_model` becomes the
    version's name; without it the version is recorded as refused. A file left at that name by an earlier
    crash is replaced; on any error nothing is left (no row, no file)."""
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        number = (ModelVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
        name = version_name(project.pk, number)
        storage_name = version_storage_name(project.pk, number)
        version = ModelVersion(
            project=project, number=number, name=name, parent=parent, job=job,
            decision=ModelDecision.PROMOTED if candidate is not None else ModelDecision.REFUSED,
            reason=str(round_json.get("reason", "")), train_objects=int(round_json.get("train_objects", 0)),
            heldout_objects=int(round_json.get("heldout_objects", 0)),
            train_images=int(round_json.get("train_images", 0)), heldout_images=int(round_json.get("heldout_images", 0)),
            figures={"before": _headline(round_json.get("before")), "after": _headline(round_json.get("after")),
                     "mode": round_json.get("config", {}).get("mode")})
        saved = None
        try:
            if candidate is not None:
                if default_storage.exists(storage_name):
                    default_storage.delete(storage_name)
                with open(candidate, "rb") as fh:
                    saved = default_storage.save(storage_name, File(fh))
                if saved != storage_name:
                    raise RuntimeError(f"storage saved the model as {saved}, not {storage_name}")
                version.file.name = saved
            version.save()
            if candidate is not None:
                Project.objects.filter(pk=project.pk).update(default_model=name)
                project.default_model = name
        except BaseException:
            if saved:
                default_storage.delete(saved)
            raise
    return version


@transaction.atomic
def model_version_rollback(*, project: Project, user: Any, to: str | None = None) -> Project:
    """Switch the project's model back (managers): to `to` — one of its promoted versions, or the model its
    first version started from — or, without `to`, to the parent of the current version. Returns the project.
    ClickLabelError (400) for another name, Conflict (409) when the current model is no version and `to` is
    not given."""
    require(user, project, Action.MANAGE_PROJECT)
    current = project.default_model
    if to is None:
        version = model_version_get_promoted(project_id=project.pk, name=current)
        if version is None:
            raise Conflict(f"The project runs {current!r}, not one of its adapted versions: name the model to "
                           "roll back to.", code="nothing_to_roll_back")
        to = version.parent
    first = ModelVersion.objects.filter(project=project).order_by("number").values_list("parent", flat=True).first()
    allowed = to == first or model_version_get_promoted(project_id=project.pk, name=to) is not None
    if not allowed:
        raise ClickLabelError(f"{to!r} is neither a promoted version of this project nor the model it started "
                              f"from{f' ({first})' if first else ''}.", code="invalid_model")
    Project.objects.filter(pk=project.pk).update(default_model=to)
    project.default_model = to
    return project

