"""Reads about annotations and drafts."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from labeling.models import Annotation, AnnotationDraft, Image
from labeling.permissions import scope_annotations


def annotation_list(*, user: Any, image_id: int | None = None) -> QuerySet[Annotation]:
    """Annotations the user can see, optionally of one image, oldest first."""
    queryset = scope_annotations(Annotation.objects.select_related("label", "author"), user)
    if image_id is not None:
        queryset = queryset.filter(image_id=image_id)
    return queryset.order_by("image_id", "id")


def draft_get(*, image: Image, user: Any) -> AnnotationDraft | None:
    """The user's autosave draft of the image, or None."""
    return AnnotationDraft.objects.filter(image=image, user=user).first()
