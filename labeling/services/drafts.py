"""Autosave drafts of the live annotator: one JSON state per (image, user), at most 1 MB."""
from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from labeling.errors import ClickLabelError
from labeling.models import AnnotationDraft, Image
from labeling.permissions import require_image_edit
from labeling.services.workflow import image_start

MAX_DRAFT_BYTES = 1024 * 1024


class DraftTooLarge(ClickLabelError):
    status = 413
    code = "draft_too_large"


@transaction.atomic
def draft_save(*, image: Image, user: Any, state: Any) -> AnnotationDraft:
    """Replace the user's draft of `image` with `state` (a JSON object ≤ 1 MB once serialised)."""
    require_image_edit(user, image)
    if not isinstance(state, dict):
        raise ClickLabelError("A draft must be a JSON object.", code="invalid_draft")
    size = len(json.dumps(state, separators=(",", ":")).encode("utf-8"))
    if size > MAX_DRAFT_BYTES:
        raise DraftTooLarge(f"The draft is {size} bytes; the limit is {MAX_DRAFT_BYTES}.",
                            details={"bytes": size, "limit": MAX_DRAFT_BYTES})
    draft, _ = AnnotationDraft.objects.update_or_create(image=image, user=user, defaults={"state": state})
    image_start(image=image)
    return draft


@transaction.atomic
def draft_delete(*, image: Image, user: Any) -> None:
    """Forget the user's draft of `image` (no error if there is none)."""
    AnnotationDraft.objects.filter(image=image, user=user).delete()
