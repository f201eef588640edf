"""Exports: every format decodes back to the stored masks (holes and separate parts kept); filters work."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image as PILImage
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from labeling.errors import ClickLabelError
from labeling.exports import FORMATS, export_project
from labeling.exports.polygons import mask_to_polygons
from labeling.exports.voc import voc_colormap
from labeling.masks import rle_to_mask
from labeling.models import Image, ImageStatus, Label
from labeling.services.images import image_upload_files, image_upload_zip

from export_helpers import add_annotation, ring_mask, two_parts_mask, unzip
from upload_helpers import png, zip_of

H, W = 40, 48


@pytest.fixture
def annotated(world):
    """Two 48x40 images of world.project: the first with a ring (cat) and two parts (dog), the second with
    one ring (dog) and status accepted; the world's own images are removed first."""
    Image.objects.filter(project=world.project).delete()
    report = image_upload_zip(project=world.project,
                              archive=zip_of({"scene/a.png": png(W, H, seed=1), "b.jpg": png(W, H, seed=2)}),
                              user=world.manager)
    first, second = (Image.objects.get(pk=a.image_id) for a in report.accepted)
    second.status = ImageStatus.ACCEPTED
    second.save()
    anns = {
        "ring": add_annotation(first, world.label, ring_mask(H, W)),
        "parts": add_annotation(first, world.label2, two_parts_mask(H, W)),
        "ring2": add_annotation(second, world.label2, ring_mask(H, W)[::-1].copy()),
    }
    return {"images": (first, second), "anns": anns, "world": world}


def _coco(annotated, fmt, **kwargs) -> dict:
    result = export_project(annotated["world"].project, fmt, **kwargs)
    assert result.content_type == "application/json" and result.filename.endswith(".json")
    return json.loads(result.data)


def _load_coco_api(coco: dict) -> COCO:
    api = COCO()
    api.dataset = coco
    api.createIndex()
    return api


@pytest.mark.parametrize("fmt", ["coco-rle", "coco-polygon"])
def test_coco_decodes_with_pycocotools_to_the_stored_masks(annotated, fmt):
    coco = _coco(annotated, fmt)
    api = _load_coco_api(coco)
    assert [c["name"] for c in coco["categories"]] == ["cat", "dog"]
    assert {c["id"] for c in coco["categories"]} == {1, 2}
    for ann in annotated["anns"].values():
        entry = api.anns[ann.pk]
        np.testing.assert_array_equal(api.annToMask(entry).astype(bool), rle_to_mask(ann.rle))
        assert entry["area"] == ann.area and entry["bbox"] == ann.bbox and entry["iscrowd"] == 0
        assert entry["category_id"] == (1 if ann.label.name == "cat" else 2)


def test_coco_polygons_keep_holes_and_parts(annotated):
    coco = _coco(annotated, "coco-polygon")
    by_id = {a["id"]: a for a in coco["annotations"]}
    ring = by_id[annotated["anns"]["ring"].pk]["segmentation"]
    parts = by_id[annotated["anns"]["parts"].pk]["segmentation"]
    assert len(ring) == 1 and len(parts) == 2  # one polygon per separate part
    decoded = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(ring, H, W))).astype(bool)
    assert not decoded[15, 17] and decoded[5, 7]  # inside the hole / on the ring
    iou = (decoded & ring_mask(H, W)).sum() / (decoded | ring_mask(H, W)).sum()
    assert iou == 1.0


def test_coco_images_have_unique_names_that_fit_the_stored_files(annotated):
    coco = _coco(annotated, "coco-rle")
    names = {img["id"]: img["file_name"] for img in coco["images"]}
    first, second = annotated["images"]
    assert names[first.pk] == "scene/a.png"
    assert names[second.pk] == "b.png"  # a PNG uploaded as b.jpg is stored (and named) as PNG
    assert (coco["images"][0]["width"], coco["images"][0]["height"]) == (W, H)


def test_coco_with_images_is_a_zip_holding_the_stored_files(annotated):
    result = export_project(annotated["world"].project, "coco-rle", include_images=True)
    files = unzip(result.data)
    assert result.content_type == "application/zip"
    coco = json.loads(files["annotations/instances.json"])
    first = annotated["images"][0]
    with first.file.open("rb") as fh:
        assert files["images/scene/a.png"] == fh.read()
    assert {img["file_name"] for img in coco["images"]} == {"scene/a.png", "b.png"}


def test_status_and_label_filters(annotated):
    world = annotated["world"]
    coco = _coco(annotated, "coco-rle", statuses=["accepted"])
    assert [img["id"] for img in coco["images"]] == [annotated["images"][1].pk]
    assert [a["id"] for a in coco["annotations"]] == [annotated["anns"]["ring2"].pk]
    coco = _coco(annotated, "coco-rle", label_ids=[world.label2.pk])
    assert [c["name"] for c in coco["categories"]] == ["dog"] and coco["categories"][0]["id"] == 1
    assert sorted(a["id"] for a in coco["annotations"]) == sorted(
        [annotated["anns"]["parts"].pk, annotated["anns"]["ring2"].pk])
    assert len(coco["images"]) == 2  # images stay, even without annotations of the chosen labels


@pytest.mark.parametrize("kwargs,message", [
    ({"statuses": ["done"]}, "Unknown image status"),
    ({"label_ids": [10 ** 6]}, "not labels of this project"),
])
def test_bad_filters_are_refused(annotated, kwargs, message):
    with pytest.raises(ClickLabelError, match=message) as caught:
        export_project(annotated["world"].project, "coco-rle", **kwargs)
    assert caught.value.status == 400


def test_label_of_another_project_is_refused_as_a_filter(annotated):
    with pytest.raises(ClickLabelError, match="not labels of this project"):
        export_project(annotated["world"].project, "voc", label_ids=[annotated["world"].other_label.pk])


def test_unknown_format_is_refused(annotated):
    with pytest.raises(ClickLabelError, match="Unknown export format") as caught:
        export_project(annotated["world"].project, "pascal")
    assert caught.value.code == "invalid_format"


def _png_array(data: bytes) -> tuple[np.ndarray, list[int]]:
    with PILImage.open(io.BytesIO(data)) as img:
        assert img.mode == "P"
        return np.asarray(img).copy(), img.getpalette()


def test_voc_class_and_instance_pngs(annotated):
    world = annotated["world"]
    result = export_project(world.project, "voc", include_images=True)
    files = unzip(result.data)
    classes, palette = _png_array(files["SegmentationClass/scene/a.png"])
    instances, inst_palette = _png_array(files["SegmentationObject/scene/a.png"])
    ring, parts = ring_mask(H, W), two_parts_mask(H, W)
    expected = np.zeros((H, W), np.uint8)
    expected[ring] = 1
    expected[parts] = 2
    np.testing.assert_array_equal(classes, expected)
    np.testing.assert_array_equal(instances, np.where(parts, 2, np.where(ring, 1, 0)))
    assert palette[3:6] == [0, 255, 0] and palette[6:9] == [0, 0, 255]  # the labels' colours
    assert inst_palette[3:6] == voc_colormap()[1].tolist()
    assert files["labels.txt"].decode().split() == ["background", "cat", "dog"]
    assert b"cat:0,255,0::" in files["labelmap.txt"]
    instance_index = json.loads(files["instances.json"])
    assert [i["annotation_id"] for i in instance_index["scene/a"]] == [annotated["anns"]["ring"].pk,
                                                                       annotated["anns"]["parts"].pk]
    assert files["ImageSets/Segmentation/default.txt"].decode().split() == ["scene/a", "b"]
    assert "JPEGImages/b.png" in files


def test_yolo_seg_lines_decode_back_to_the_masks(annotated):
    world = annotated["world"]
    files = unzip(export_project(world.project, "yolo-seg").data)
    lines = files["labels/scene/a.txt"].decode().strip().splitlines()
    assert [line.split()[0] for line in lines] == ["0", "1", "1"]  # ring (cat), two parts (dog)
    for line, expected in zip(lines, [ring_mask(H, W), two_parts_mask(H, W), two_parts_mask(H, W)]):
        values = [float(v) for v in line.split()[1:]]
        assert all(0.0 <= v <= 1.0 for v in values)
        pixels = [v * (W if i % 2 == 0 else H) for i, v in enumerate(values)]
        part = coco_mask.decode(coco_mask.frPyObjects([pixels], H, W))[..., 0].astype(bool)
        assert part.sum() > 0 and not (part & ~expected).any()
    data_yaml = files["data.yaml"].decode()
    assert 'nc: 2' in data_yaml and '0: "cat"' in data_yaml and '1: "dog"' in data_yaml


def test_every_registered_format_runs_on_an_empty_project(world):
    for fmt in FORMATS:
        result = export_project(world.other_project, fmt)
        assert result.data and result.filename.startswith("Dogs-")


def test_duplicate_original_names_get_unique_export_names(world):
    report = image_upload_files(project=world.project,
                                files=[("x.png", png(8, 8, seed=5)), ("x.png", png(8, 8, seed=6))],
                                user=world.manager)
    coco = json.loads(export_project(world.project, "coco-rle").data)
    names = [img["file_name"] for img in coco["images"] if img["id"] in {a.image_id for a in report.accepted}]
    assert len(set(names)) == 2 and names[0] == "x.png"


@pytest.mark.parametrize("seed", range(6))
def test_polygons_are_exact_for_random_masks(seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((23, 31)) < 0.5  # many holes, islands and diagonal contacts
    polygons = mask_to_polygons(mask)
    decoded = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(polygons, 23, 31))).astype(bool)
    np.testing.assert_array_equal(decoded, mask)


def test_polygons_of_an_empty_mask_and_bad_shapes():
    assert mask_to_polygons(np.zeros((5, 5), bool)) == []
    with pytest.raises(ValueError, match="2-D"):
        mask_to_polygons(np.zeros((2, 5, 5), bool))


def test_labels_follow_project_order(world):
    Label.objects.filter(pk=world.label.pk).update(order=5)
    coco = json.loads(export_project(world.project, "coco-rle").data)
    assert [c["name"] for c in coco["categories"]] == ["dog", "cat"]
