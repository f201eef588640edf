"""COCO import files cost what their images allow: polygon coordinates are bounded by the image (a small
tolerance), polygons, points and annotations per file are capped, and ids of the wrong JSON type are a
400 (`invalid_coco`), never a 500. Compressed RLE goes through the same checks as the API's masks."""
from __future__ import annotations

import pytest

from labeling.errors import ClickLabelError
from labeling.masks import InvalidMask, segmentation_to_mask
from labeling.models import Annotation
from labeling.services.imports import coco_import

from mask_payloads import rle_string
from memory_probe import MB, peak_bytes

H, W = 8, 12


def _coco(world, annotations, **images):
    image = {"id": 1, "file_name": world.image.original_name, "width": W, "height": H, **images}
    return {"images": [image], "categories": [{"id": 1, "name": "cat"}], "annotations": annotations}


def _ann(segmentation, **fields):
    return {"id": 1, "image_id": 1, "category_id": 1, "segmentation": segmentation, **fields}


def test_a_far_away_polygon_is_refused_without_rasterising_it(world):
    far = [[1, 1, 2e6, 1, 2e6, 2e6, 1, 2e6]]
    peak, report, error = peak_bytes(lambda: coco_import(project=world.project, coco=_coco(world, [_ann(far)]),
                                                         user=world.manager))
    assert error is None, error
    assert report.imported == [] and "outside the 12x8 image" in report.skipped[0].reason
    assert peak < 16 * MB, f"{peak / MB:.0f} MB allocated for one polygon on a 12x8 image"


def test_polygons_may_touch_the_border_within_the_tolerance():
    mask = segmentation_to_mask([[-0.5, -0.5, 12.5, -0.5, 12.5, 8.5, -0.5, 8.5]], height=H, width=W)
    assert mask.all()
    with pytest.raises(InvalidMask, match="outside"):
        segmentation_to_mask([[-3, 0, 5, 0, 5, 5]], height=H, width=W)


def test_polygons_per_annotation_are_capped(world, settings):
    settings.CLICKLABEL_IMPORT_MAX_POLYGONS = 3
    square = [1, 1, 5, 1, 5, 5, 1, 5]
    report = coco_import(project=world.project, coco=_coco(world, [_ann([square] * 4)]), user=world.manager)
    assert report.imported == [] and "polygons" in report.skipped[0].reason


@pytest.mark.parametrize("setting,value,annotations,message", [
    ("CLICKLABEL_IMPORT_MAX_ANNOTATIONS", 2, 3, "annotations"),
    ("CLICKLABEL_IMPORT_MAX_POINTS", 10, 3, "points"),
])
def test_per_file_caps_refuse_the_whole_file(world, settings, setting, value, annotations, message):
    setattr(settings, setting, value)
    square = [[1, 1, 5, 1, 5, 5, 1, 5]]
    coco = _coco(world, [_ann(square, id=i) for i in range(annotations)])
    with pytest.raises(ClickLabelError, match=message) as caught:
        coco_import(project=world.project, coco=coco, user=world.manager)
    assert caught.value.status == 400 and caught.value.code == "invalid_coco"
    assert not Annotation.objects.exists()


BAD_IDS = [
    ("image id", lambda c: c["images"][0].update(id=[1])),
    ("image id", lambda c: c["images"][0].update(id={"a": 1})),
    ("image id", lambda c: c["images"][0].update(id=True)),
    ("category id", lambda c: c["categories"][0].update(id=[1])),
    ("category id", lambda c: c["categories"][0].update(id=1.5)),
    ("image_id", lambda c: c["annotations"][0].update(image_id=[1])),
    ("category_id", lambda c: c["annotations"][0].update(category_id={"x": 1})),
    ("annotation id", lambda c: c["annotations"][0].update(id=[7])),
]


@pytest.mark.parametrize("what,spoil", BAD_IDS)
def test_ids_of_the_wrong_json_type_are_a_400(world, what, spoil):
    coco = _coco(world, [_ann([[1, 1, 5, 1, 5, 5, 1, 5]])])
    spoil(coco)
    response = world.client(world.manager).post(f"/api/projects/{world.project.pk}/import/coco/", coco,
                                                format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_coco" and what in response.json()["error"]["message"]
    assert not Annotation.objects.exists()


def test_a_compressed_rle_that_does_not_cover_the_image_is_skipped(world):
    short = {"size": [H, W], "counts": rle_string([0, 40])}
    report = coco_import(project=world.project, coco=_coco(world, [_ann(short)]), user=world.manager)
    assert report.imported == [] and "96" in report.skipped[0].reason
    assert not Annotation.objects.exists()


def test_non_ascii_counts_in_a_coco_file_are_skipped_not_a_500(world):
    report = coco_import(project=world.project, coco=_coco(world, [_ann({"size": [H, W], "counts": "é"})]),
                         user=world.manager)
    assert report.imported == [] and report.skipped[0].ref == "annotation 1"


def test_a_zigzag_polygon_within_the_image_is_refused_by_its_outline_length():
    zigzag = [v for i in range(400) for v in ((0, i * 0.02) if i % 2 == 0 else (12, i * 0.02))]
    with pytest.raises(InvalidMask, match="outlines are"):
        segmentation_to_mask([zigzag], height=H, width=W)
