"""Create, update and delete annotations, with optimistic locking on `Annotation.version`.

Every write first re-checks, with a conditional `UPDATE image ... WHERE status IN (editable) AND assignee
is the user or none` (see `_hold_image`), that the image may still be edited: that UPDATE locks the image
row, so a submit racing the write either waits for it or makes it fail — a write never lands on an image
already in review.

An update or delete names the version the client last saw; the write is a conditional
`UPDATE/DELETE ... WHERE id = ... AND version = n` (the update also sets version = n + 1), so of two
clients holding version n exactly one wins and the other gets `Conflict` (HTTP 409) with the current
version in `details`.

Masks are numpy bool (H, W) arrays at the image size; clicks are `{"x", "y", "positive"}` dicts in
original-image pixels (x = column, y = row).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from labeling.errors import ClickLabelError, Conflict, NotFound
from labeling.masks import InvalidMask, mask_to_rle, rle_area, rle_bbox
from labeling.models import Annotation, Image, Label
from labeling.permissions import ANNOTATOR_EDITABLE_STATUSES, Action, can, require_image_edit
from labeling.services.workflow import image_start

MAX_CLICKS = 1000
MAX_STROKES = 500
MAX_STROKE_POINTS = 50_000          # all strokes of an annotation together
STROKE_MODES = ("brush", "erase")
MAX_STROKE_RADIUS = 200
_UNSET: Any = object()


def _normalize_clicks(clicks: Any, *, width: int, height: int) -> list[dict]:
    """Validate clicks `[{"x", "y", "positive"}, ...]` against the image size; return clean dicts.

    x in [0, width), y in [0, height) (floats allowed); `positive` must be a bool.
    """
    if clicks is None:
        return []
    if not isinstance(clicks, list):
        raise ClickLabelError("clicks must be a list.", code="invalid_clicks")
    if len(clicks) > MAX_CLICKS:
        raise ClickLabelError(f"At most {MAX_CLICKS} clicks per annotation.", code="invalid_clicks")
    clean = []
    for index, click in enumerate(clicks):
        if not isinstance(click, dict):
            raise ClickLabelError(f"click {index} must be an object.", code="invalid_clicks")
        x, y, positive = click.get("x"), click.get("y"), click.get("positive")
        numbers_ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (x, y))
        if not numbers_ok or not isinstance(positive, bool):
            raise ClickLabelError(f'click {index} needs numeric "x", "y" and boolean "positive".',
                                  code="invalid_clicks", details={"index": index})
        if not (0 <= x < width and 0 <= y < height):
            raise ClickLabelError(f"click {index} ({x}, {y}) lies outside the {width}x{height} image.",
                                  code="invalid_clicks", details={"index": index})
        clean.append({"x": x, "y": y, "positive": positive})
    return clean


MAX_EDIT_SECONDS = 24 * 3600.0


def _clean_seconds(seconds: Any) -> float | None:
    """Active editing seconds of an object: None (unknown) or a finite number in [0, 24 h]."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
            or not 0 <= seconds <= MAX_EDIT_SECONDS:
        raise ClickLabelError(f"edit_seconds must be a number of seconds between 0 and {MAX_EDIT_SECONDS:.0f}.",
                              code="invalid_edit_seconds")
    return round(float(seconds), 3)


def _normalize_strokes(strokes: Any, *, width: int, height: int) -> list[dict]:
    """Validate brush/eraser strokes `[{"mode", "radius", "points": [[x, y], ...]}, ...]` (what the annotator
    paints over the network's mask, kept so that editing the object later re-applies them); return clean dicts.

    mode "brush" or "erase"; radius in [1, 200]; points finite, within the image grown by the radius; at most
    MAX_STROKES strokes and MAX_STROKE_POINTS points in all.
    """
    if strokes is None:
        return []
    if not isinstance(strokes, list):
        raise ClickLabelError("strokes must be a list.", code="invalid_strokes")
    if len(strokes) > MAX_STROKES:
        raise ClickLabelError(f"At most {MAX_STROKES} strokes per annotation.", code="invalid_strokes")
    clean, total = [], 0
    for index, stroke in enumerate(strokes):
        if not isinstance(stroke, dict) or set(stroke) != {"mode", "radius", "points"}:
            raise ClickLabelError(f'stroke {index} must be {{"mode", "radius", "points"}}.', code="invalid_strokes",
                                  details={"index": index})
        mode, radius, points = stroke["mode"], stroke["radius"], stroke["points"]
        radius_ok = isinstance(radius, (int, float)) and not isinstance(radius, bool) and math.isfinite(radius)
        if mode not in STROKE_MODES or not radius_ok or not 1 <= radius <= MAX_STROKE_RADIUS:
            raise ClickLabelError(f'stroke {index}: mode must be "brush" or "erase", radius in [1, '
                                  f'{MAX_STROKE_RADIUS}].', code="invalid_strokes", details={"index": index})
        if not isinstance(points, list) or not points:
            raise ClickLabelError(f"stroke {index} needs a list of points.", code="invalid_strokes",
                                  details={"index": index})
        total += len(points)
        if total > MAX_STROKE_POINTS:
            raise ClickLabelError(f"At most {MAX_STROKE_POINTS} stroke points per annotation.", code="invalid_strokes")
        clean_points = []
        for point in points:
            ok = (isinstance(point, list) and len(point) == 2
                  and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in point))
            if not ok or not (-radius <= point[0] <= width + radius and -radius <= point[1] <= height + radius):
                raise ClickLabelError(f"stroke {index}: points are [x, y] within the {width}x{height} image.",
                                      code="invalid_strokes", details={"index": index})
            clean_points.append([point[0], point[1]])
        clean.append({"mode": mode, "radius": radius, "points": clean_points})
    return clean


def _check_label(label: Label, image: Image) -> None:
    if label.project_id != image.project_id:
        raise ClickLabelError("The label belongs to another project.", code="invalid_label")


def _hold_image(image: Image, user: Any) -> None:
    """Check that `user` may edit `image` now, and lock its row until the transaction ends.

    Managers may edit any image: their UPDATE has no condition and only takes the lock. For annotators the
    UPDATE keeps the conditions of `can_edit_image` (status still editable, assigned to them or to nobody);
    when it matches no row the image changed since it was read, and the fresh row's reason is raised
    (PermissionDenied, or NotFound when it is gone). `image` gets the fresh status and assignee.
    """
    require_image_edit(user, image)
    rows = Image.objects.filter(pk=image.pk)
    if not can(user, image.project_id, Action.MANAGE_IMAGES):
        rows = rows.filter(Q(assignee__isnull=True) | Q(assignee_id=user.pk),
                           status__in=ANNOTATOR_EDITABLE_STATUSES)
    now = timezone.now()
    if not rows.update(updated_at=now):
        fresh = Image.objects.filter(pk=image.pk).first()
        if fresh is None:
            raise NotFound("Image not found.")
        require_image_edit(user, fresh)
        raise Conflict("The image changed while saving; reload it.", details={"status": fresh.status})
    image.refresh_from_db(fields=["status", "assignee", "updated_at"])


def _mask_fields(mask: np.ndarray, image: Image) -> dict:
    arr = np.asarray(mask)
    if arr.shape != (image.height, image.width):
        raise InvalidMask(f"mask shape {arr.shape} does not match the image (H, W) = ({image.height}, {image.width}).")
    rle = mask_to_rle(arr.astype(bool))
    area = rle_area(rle)
    if area == 0:
        raise InvalidMask("The mask is empty.", code="empty_mask")
    return {"rle": rle, "bbox": rle_bbox(rle), "area": area}


@transaction.atomic
def annotation_create(*, image: Image, user: Any, label: Label, mask: np.ndarray,
                      clicks: list[dict] | None = None, model_name: str = "", mode: str = "",
                      edit_seconds: float | None = None, strokes: list[dict] | None = None) -> Annotation:
    """Store one object mask (bool (H, W) at image size) on `image`; new/rejected images become in_progress.

    `edit_seconds`: the annotator's active time on the object (None = unknown).
    Raises NotFound / PermissionDenied (see permissions.require_image_edit), InvalidMask, ClickLabelError.
    """
    _hold_image(image, user)
    _check_label(label, image)
    fields = _mask_fields(mask, image)
    clean_clicks = _normalize_clicks(clicks, width=image.width, height=image.height)
    annotation = Annotation.objects.create(
        image=image, label=label, author=user, clicks=clean_clicks, n_clicks=len(clean_clicks),
        strokes=_normalize_strokes(strokes, width=image.width, height=image.height),
        edit_seconds=_clean_seconds(edit_seconds), model_name=model_name[:200], mode=mode[:32], **fields)
    image_start(image=image)
    return annotation


def _check_version(version: Any) -> int:
    if isinstance(version, str) and version.strip().strip('"').isdigit():
        version = int(version.strip().strip('"'))
    if not isinstance(version, int) or isinstance(version, bool):
        raise ClickLabelError('"version" (or an If-Match header) is required for changes.',
                              code="version_required", status=428 if version is None else 400)
    return version


def _raise_stale(annotation_id: int, version: int) -> None:
    current = Annotation.objects.filter(pk=annotation_id).values_list("version", flat=True).first()
    if current is None:
        raise NotFound("Annotation not found.")
    raise Conflict(f"Annotation {annotation_id} was changed by someone else (version {current}, you sent {version}).",
                   details={"current_version": current, "your_version": version})


@transaction.atomic
def annotation_update(*, annotation: Annotation, user: Any, version: Any, label: Label | None = None,
                      mask: np.ndarray | None = None, clicks: list[dict] | None = _UNSET,
                      model_name: str | None = None, mode: str | None = None,
                      edit_seconds: float | None = _UNSET, strokes: list[dict] | None = _UNSET) -> Annotation:
    """Change label / mask / clicks / strokes / model fields / edit_seconds (the object's new total active time)
    of an annotation last seen at `version`.

    Bumps the version atomically; raises Conflict (409) when `version` is stale.
    """
    image = annotation.image
    _hold_image(image, user)
    version = _check_version(version)
    changes: dict[str, Any] = {}
    if label is not None:
        _check_label(label, image)
        changes["label"] = label
    if mask is not None:
        changes.update(_mask_fields(mask, image))
    if clicks is not _UNSET:
        changes["clicks"] = _normalize_clicks(clicks, width=image.width, height=image.height)
        changes["n_clicks"] = len(changes["clicks"])
    if edit_seconds is not _UNSET:
        changes["edit_seconds"] = _clean_seconds(edit_seconds)
    if strokes is not _UNSET:
        changes["strokes"] = _normalize_strokes(strokes, width=image.width, height=image.height)
    if model_name is not None:
        changes["model_name"] = model_name[:200]
    if mode is not None:
        changes["mode"] = mode[:32]
    now = timezone.now()
    updated = Annotation.objects.filter(pk=annotation.pk, version=version).update(
        version=F("version") + 1, updated_at=now, **changes)
    if not updated:
        _raise_stale(annotation.pk, version)
    image_start(image=image)
    annotation.refresh_from_db()
    return annotation


@transaction.atomic
def annotation_delete(*, annotation: Annotation, user: Any, version: Any) -> None:
    """Delete an annotation last seen at `version`; Conflict (409) when stale."""
    _hold_image(annotation.image, user)
    version = _check_version(version)
    deleted, _ = Annotation.objects.filter(pk=annotation.pk, version=version).delete()
    if not deleted:
        _raise_stale(annotation.pk, version)
