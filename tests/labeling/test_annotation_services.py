"""labeling.services.annotations: create/update/delete, optimistic locking, authorization."""
from __future__ import annotations

import numpy as np
import pytest

from labeling.errors import ClickLabelError, Conflict, NotFound, PermissionDenied
from labeling.masks import InvalidMask, rle_to_mask
from labeling.models import Annotation, ImageStatus
from labeling.services.annotations import annotation_create, annotation_delete, annotation_update

from labeling_factories import box_mask


def test_create_stores_rle_bbox_area_and_starts_the_image(world):
    mask = box_mask()
    ann = annotation_create(image=world.image, user=world.annotator, label=world.label, mask=mask,
                            clicks=[{"x": 3, "y": 2, "positive": True}], model_name="default", mode="f-brs-b")
    np.testing.assert_array_equal(rle_to_mask(ann.rle), mask)
    assert ann.bbox == [2, 1, 4, 3] and ann.area == 12 and ann.version == 1
    world.image.refresh_from_db()
    assert world.image.status == ImageStatus.IN_PROGRESS


def test_update_bumps_version_and_stale_update_conflicts(world):
    ann = annotation_create(image=world.image, user=world.annotator, label=world.label, mask=box_mask())
    first = Annotation.objects.get(pk=ann.pk)
    second = Annotation.objects.get(pk=ann.pk)
    updated = annotation_update(annotation=first, user=world.annotator, version=1, label=world.label2)
    assert updated.version == 2 and updated.label_id == world.label2.pk
    with pytest.raises(Conflict) as info:
        annotation_update(annotation=second, user=world.annotator, version=1, mask=box_mask(x1=9))
    assert info.value.details["current_version"] == 2
    assert Annotation.objects.get(pk=ann.pk).area == 12  # the stale write changed nothing


def test_delete_needs_current_version(world):
    ann = annotation_create(image=world.image, user=world.annotator, label=world.label, mask=box_mask())
    with pytest.raises(Conflict):
        annotation_delete(annotation=ann, user=world.annotator, version=5)
    annotation_delete(annotation=ann, user=world.annotator, version=1)
    assert not Annotation.objects.filter(pk=ann.pk).exists()


def test_version_is_required(world):
    ann = annotation_create(image=world.image, user=world.annotator, label=world.label, mask=box_mask())
    with pytest.raises(ClickLabelError) as info:
        annotation_update(annotation=ann, user=world.annotator, version=None, mode="x")
    assert info.value.code == "version_required"


def test_refusals(world):
    with pytest.raises(InvalidMask):
        annotation_create(image=world.image, user=world.annotator, label=world.label, mask=np.zeros((8, 12), bool))
    with pytest.raises(InvalidMask):
        annotation_create(image=world.image, user=world.annotator, label=world.label, mask=box_mask(height=9))
    with pytest.raises(ClickLabelError, match="another project"):
        annotation_create(image=world.image, user=world.annotator, label=world.other_label, mask=box_mask())
    with pytest.raises(ClickLabelError, match="outside"):
        annotation_create(image=world.image, user=world.annotator, label=world.label, mask=box_mask(),
                          clicks=[{"x": 12, "y": 0, "positive": True}])
    with pytest.raises(PermissionDenied):
        annotation_create(image=world.image, user=world.reviewer, label=world.label, mask=box_mask())
    with pytest.raises(NotFound):
        annotation_create(image=world.image, user=world.outsider, label=world.label, mask=box_mask())


def test_annotator_cannot_edit_image_assigned_to_someone_else(world):
    world.image.assignee = world.annotator2
    world.image.save()
    with pytest.raises(PermissionDenied, match="assigned"):
        annotation_create(image=world.image, user=world.annotator, label=world.label, mask=box_mask())
    annotation_create(image=world.image, user=world.manager, label=world.label, mask=box_mask())
