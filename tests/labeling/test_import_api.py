"""POST /api/projects/{id}/import/coco/ as a JSON body and as an uploaded file."""
from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.masks import mask_to_rle
from labeling.models import Annotation

from export_helpers import ring_mask


def _coco(world):
    return {"images": [{"id": 1, "file_name": world.image.original_name, "width": 12, "height": 8}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "segmentation": mask_to_rle(ring_mask(8, 12))}]}


def test_import_json_body(world):
    response = world.client(world.manager).post(f"/api/projects/{world.project.pk}/import/coco/", _coco(world),
                                                format="json")
    assert response.status_code == 200 and response.json()["counts"]["imported"] == 1
    assert Annotation.objects.filter(image=world.image, label=world.label).count() == 1


def test_import_uploaded_file(world):
    upload = SimpleUploadedFile("instances.json", json.dumps(_coco(world)).encode())
    response = world.client(world.manager).post(f"/api/projects/{world.project.pk}/import/coco/", {"file": upload},
                                                format="multipart")
    assert response.status_code == 200 and response.json()["counts"] == {"imported": 1, "skipped": 0,
                                                                          "matched_images": 1}


def test_import_bad_json_file(world):
    upload = SimpleUploadedFile("instances.json", b"{not json")
    response = world.client(world.manager).post(f"/api/projects/{world.project.pk}/import/coco/", {"file": upload},
                                                format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_coco"
    assert not Annotation.objects.exists()


def test_import_forbidden_for_annotators(world):
    response = world.client(world.annotator).post(f"/api/projects/{world.project.pk}/import/coco/", _coco(world),
                                                  format="json")
    assert response.status_code == 403 and not Annotation.objects.exists()
