"""Brush/eraser strokes are kept with an annotation (so editing it later re-applies them): stored through the API,
returned, replaced by a PATCH; malformed or unbounded strokes are a 400 that stores nothing."""
from __future__ import annotations

import pytest

from labeling.masks import mask_to_rle
from labeling.models import Annotation
from labeling_factories import box_mask

STROKE = {"mode": "brush", "radius": 2, "points": [[1, 1], [5.5, 3]]}


def _create(w, strokes):
    body = {"image": w.image.pk, "label": w.label.pk, "mask": mask_to_rle(box_mask()), "strokes": strokes,
            "clicks": [{"x": 3, "y": 2, "positive": True}], "mode": "f-brs-b"}
    return w.client(w.annotator).post("/api/annotations/", body, format="json")


def test_strokes_are_stored_returned_and_replaced(world):
    created = _create(world, [STROKE])
    assert created.status_code == 201, created.json()
    assert created.json()["strokes"] == [STROKE]
    url = f"/api/annotations/{created.json()['id']}/"
    erase = {"mode": "erase", "radius": 1, "points": [[2, 2]]}
    patched = world.client(world.annotator).patch(url, {"version": 1, "strokes": [STROKE, erase]}, format="json")
    assert patched.status_code == 200 and patched.json()["strokes"] == [STROKE, erase]
    assert world.client(world.annotator).get(url).json()["strokes"] == [STROKE, erase]
    untouched = world.client(world.annotator).patch(url, {"version": 2, "mode": "nobrs"}, format="json")
    assert untouched.json()["strokes"] == [STROKE, erase], "a PATCH without strokes keeps them"


@pytest.mark.parametrize("strokes", [
    "brush",
    [{"mode": "paint", "radius": 2, "points": [[1, 1]]}],
    [{"mode": "brush", "radius": 0, "points": [[1, 1]]}],
    [{"mode": "brush", "radius": True, "points": [[1, 1]]}],
    [{"mode": "brush", "radius": 2, "points": []}],
    [{"mode": "brush", "radius": 2, "points": [[1, 1, 1]]}],
    [{"mode": "brush", "radius": 2, "points": [[1e9, 1]]}],
    [{"mode": "brush", "radius": 2, "points": [[1, 1]], "extra": 1}],
    [STROKE] * 501,
    [{"mode": "brush", "radius": 2, "points": [[1, 1]] * 50_001}],
])
def test_malformed_or_unbounded_strokes_are_a_400_that_stores_nothing(world, strokes):
    response = _create(world, strokes)
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "invalid_strokes"
    assert Annotation.objects.count() == 0
