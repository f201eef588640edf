"""Generated inputs for every parser of untrusted input (`pytest -m fuzz`): mask payloads (compressed and
list RLE, PNG, any JSON), COCO import files (structured, mutated bytes), uploaded images and zips. Each is
refused with a 4xx-type error or gives a result that round-trips, never another exception, within a memory
budget proportional to the image's pixels and the input's bytes (see fuzz_checks.py).
HYPOTHESIS_PROFILE=long runs many more examples."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz_checks import check_coco_import, check_image_upload, check_mask_payload, check_zip_upload
from fuzz_inputs import (coco_files, image_uploads, json_values, masks, mutated, png_payloads, rle_payloads, runs_of,
                         zip_uploads)
from mask_payloads import rle_string

pytestmark = pytest.mark.fuzz
FEW = settings(max_examples=max(10, settings.default.max_examples // 3))
sizes = st.tuples(st.integers(1, 24), st.integers(1, 24))


@given(sizes.flatmap(lambda hw: st.tuples(st.just(hw), rle_payloads(*hw))))
def test_rle_payloads(case):
    (height, width), payload = case
    check_mask_payload(payload, height, width)


@given(masks())
def test_every_mask_round_trips_through_both_rle_forms(mask):
    height, width = mask.shape
    assert check_mask_payload({"size": [height, width], "counts": rle_string(runs_of(mask))}, height, width)[0] == "ok"
    assert check_mask_payload({"size": [height, width], "counts": runs_of(mask)}, height, width)[0] == "ok"


@given(sizes.flatmap(lambda hw: st.tuples(st.just(hw), png_payloads(*hw))))
def test_png_payloads(case):
    (height, width), payload = case
    check_mask_payload(payload, height, width)


@given(json_values, sizes)
def test_any_json_as_a_mask_payload(payload, size):
    check_mask_payload(payload, *size)


@FEW
@given(st.data())
def test_coco_import_files(world, data):
    names = [world.image.original_name, world.image2.original_name]
    coco = data.draw(coco_files(names, world.image.width, world.image.height))
    raw = json.dumps(coco).encode()
    if data.draw(st.integers(0, 4)) == 0:
        raw = data.draw(mutated(raw))
    check_coco_import(project=world.project, user=world.manager, data=raw,
                      pixels=world.image.width * world.image.height)


@pytest.fixture
def small_limits(settings):
    """Limits set once per test (not per example: each settings change stacks an override)."""
    settings.CLICKLABEL_MAX_IMAGE_PIXELS = 1_000_000
    settings.CLICKLABEL_MAX_ZIP_MEMBERS = 20


@FEW
@given(image_uploads())
def test_uploaded_images(small_limits, data):
    check_image_upload(data, 1_000_000)


@FEW
@given(zip_uploads())
def test_uploaded_zips(world, small_limits, data):
    check_zip_upload(project=world.project, user=world.manager, data=data)
