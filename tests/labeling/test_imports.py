"""COCO import as pre-labels: an export imports back to the same masks; problems are reported, not fatal."""
from __future__ import annotations

import json

import numpy as np
import pytest

from labeling.errors import ClickLabelError
from labeling.exports import export_project
from labeling.masks import mask_to_rle, rle_to_mask
from labeling.models import Annotation, Image
from labeling.services.images import image_upload_zip
from labeling.services.imports import coco_import

from export_helpers import add_annotation, ring_mask, two_parts_mask
from upload_helpers import png, zip_of

H, W = 40, 48


@pytest.fixture
def images(world):
    Image.objects.filter(project=world.project).delete()
    report = image_upload_zip(project=world.project,
                              archive=zip_of({"dir/a.png": png(W, H, seed=1), "b.jpg": png(W, H, seed=2)}),
                              user=world.manager)
    return [Image.objects.get(pk=a.image_id) for a in report.accepted]


@pytest.mark.parametrize("fmt", ["coco-rle", "coco-polygon"])
def test_export_then_import_gives_the_same_masks(world, images, fmt):
    originals = {
        (images[0].pk, "cat"): ring_mask(H, W),
        (images[1].pk, "dog"): two_parts_mask(H, W),
    }
    add_annotation(images[0], world.label, originals[(images[0].pk, "cat")])
    add_annotation(images[1], world.label2, originals[(images[1].pk, "dog")])
    coco = json.loads(export_project(world.project, fmt).data)
    Annotation.objects.all().delete()
    report = coco_import(project=world.project, coco=coco, user=world.manager)
    assert report.skipped == [] and len(report.imported) == 2 and report.matched_images == 2
    for ann in Annotation.objects.filter(image__project=world.project):
        np.testing.assert_array_equal(rle_to_mask(ann.rle), originals[(ann.image_id, ann.label.name)])
        assert ann.model_name == "coco-import" and ann.mode == "import" and ann.author == world.manager


def test_names_match_loosely_and_problems_are_reported(world, images):
    ring = mask_to_rle(ring_mask(H, W))
    coco = {
        "images": [
            {"id": 1, "file_name": "A.PNG", "width": W, "height": H},       # base name, other case
            {"id": 2, "file_name": "b.png", "width": W, "height": H},       # stem match (stored as PNG)
            {"id": 3, "file_name": "missing.png", "width": W, "height": H},
            {"id": 4, "file_name": "dir/a.png", "width": 10, "height": H},  # wrong size
        ],
        "categories": [{"id": 7, "name": "CAT"}, {"id": 8, "name": "horse"}],
        "annotations": [
            {"id": 100, "image_id": 1, "category_id": 7, "segmentation": ring},
            {"id": 101, "image_id": 2, "category_id": 7, "segmentation": [[6, 4, 30, 4, 30, 28, 6, 28]]},
            {"id": 102, "image_id": 2, "category_id": 8, "segmentation": ring},
            {"id": 103, "image_id": 3, "category_id": 7, "segmentation": ring},
            {"id": 104, "image_id": 9, "category_id": 7, "segmentation": ring},
            {"id": 105, "image_id": 1, "category_id": 7, "segmentation": [[1, 2, 3]]},
            {"id": 106, "image_id": 1, "category_id": 7, "segmentation": {"size": [H, W], "counts": [H * W]}},
            {"id": 107, "image_id": 1, "category_id": 7, "segmentation": {"size": [5, 5], "counts": [25]}},
            {"id": 108, "image_id": 4, "category_id": 7, "segmentation": ring},
        ],
    }
    report = coco_import(project=world.project, coco=coco, user=world.manager)
    assert [(i.coco_id, i.image_id) for i in report.imported] == [(100, images[0].pk), (101, images[1].pk)]
    reasons = {s.ref: s.reason for s in report.skipped}
    assert "no label named 'horse'" in reasons["category 8"]
    assert "no image named 'missing.png'" in reasons["image 3"]
    assert "10x40 in the file but 48x40" in reasons["image 4"]
    assert "no matching label" in reasons["annotation 102"]
    assert "not matched" in reasons["annotation 103"] and "not matched" in reasons["annotation 108"]
    assert "not in the file" in reasons["annotation 104"]
    assert "polygon" in reasons["annotation 105"]
    assert "empty" in reasons["annotation 106"]
    assert "image is 48x40" in reasons["annotation 107"]
    box = rle_to_mask(Annotation.objects.get(pk=report.imported[1].annotation_id).rle)
    assert box.sum() == 24 * 24 and box[4:28, 6:30].all()


@pytest.mark.parametrize("coco,message", [
    ([], "JSON object"),
    ({"images": {}}, '"images" must be a list'),
    ({"images": [{"file_name": "x"}]}, 'needs an "id"'),
    ({"categories": [{"name": "x"}]}, 'needs an "id"'),
])
def test_malformed_coco_is_refused_and_nothing_imported(world, images, coco, message):
    with pytest.raises(ClickLabelError, match=message) as caught:
        coco_import(project=world.project, coco=coco, user=world.manager)
    assert caught.value.code == "invalid_coco" and caught.value.status == 400
    assert not Annotation.objects.exists()


def test_import_needs_the_import_right(world, images):
    with pytest.raises(ClickLabelError) as caught:
        coco_import(project=world.project, coco={"images": [], "categories": [], "annotations": []},
                    user=world.annotator)
    assert caught.value.status == 403
