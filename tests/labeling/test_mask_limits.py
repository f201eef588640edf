"""Mask payloads cost what the image allows and nothing more: the caller's edit right is checked first, the
declared size is compared with the image before anything is decoded, PNG masks are bounded by the image's
size, and a compressed RLE string must cover exactly H x W pixels (else it would store whatever memory the
decoder's buffer held)."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from labeling.masks import InvalidMask, mask_to_rle, parse_mask_payload, rle_to_mask, segmentation_to_mask
from labeling.models import Annotation

from export_helpers import add_annotation
from labeling_factories import box_mask
from mask_payloads import grey_png, png_chunk, png_payload, rle_string
from memory_probe import MB, peak_bytes

HUGE_RLE = {"size": [8000, 8000], "counts": "03"}  # 64 MP declared, 2 characters sent


def _post(world, user, mask):
    return world.client(user).post("/api/annotations/", {"image": world.image.pk, "label": world.label.pk,
                                                         "mask": mask}, format="json")


def test_a_reviewer_gets_403_before_any_mask_is_decoded(world):
    peak, response, error = peak_bytes(lambda: _post(world, world.reviewer, HUGE_RLE))
    assert error is None and response.status_code == 403
    assert peak < 8 * MB, f"{peak / MB:.0f} MB allocated for a request refused by role"
    assert not Annotation.objects.exists()


def test_a_patch_from_a_non_editor_is_refused_before_decoding(world):
    annotation = add_annotation(world.image, world.label, box_mask())
    url = f"/api/annotations/{annotation.pk}/"
    peak, response, error = peak_bytes(lambda: world.client(world.reviewer).patch(
        url, {"version": annotation.version, "mask": HUGE_RLE}, format="json"))
    assert error is None and response.status_code == 403 and peak < 8 * MB


def test_a_declared_size_other_than_the_image_is_refused_before_decoding(world):
    peak, response, error = peak_bytes(lambda: _post(world, world.manager, HUGE_RLE))
    assert error is None and response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_mask"
    assert response.json()["error"]["details"]["mask_size"] == [8000, 8000]
    assert peak < 8 * MB, f"{peak / MB:.0f} MB allocated to refuse a mask of the wrong size"


def test_a_png_mask_declaring_more_pixels_than_the_image_is_refused_from_its_header():
    bomb = png_payload(grey_png(9000, 9000))  # ~10 KB sent, 81 MP declared
    peak, _, error = peak_bytes(lambda: parse_mask_payload(bomb, 8, 12))
    assert isinstance(error, InvalidMask) and "9000x9000" in error.message
    assert peak < 4 * MB, f"{peak / MB:.0f} MB allocated to refuse a PNG bomb"


def test_png_text_chunks_are_not_inflated():
    text = png_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"x" * 1_000_000))  # 1 KB that inflates to 1 MB
    payload = png_payload(grey_png(12, 8, bit_depth=8, extra_chunks=[text] * 60))
    peak, mask, error = peak_bytes(lambda: parse_mask_payload(payload, 8, 12))
    assert error is None and mask.shape == (8, 12) and not mask.any()
    assert peak < 4 * MB, f"{peak / MB:.0f} MB allocated for a 12x8 PNG with a text chunk"


@pytest.mark.parametrize("counts", [[0, 40], [10, 5, 3], [0, 200], [50, 50], [96, 0, 1]])
def test_a_compressed_string_must_cover_exactly_h_times_w_pixels(counts):
    rle = {"size": [8, 12], "counts": rle_string(counts)}
    with pytest.raises(InvalidMask, match="96"):
        rle_to_mask(rle)


def test_a_short_compressed_string_never_stores_uninitialised_memory():
    short = {"size": [100, 100], "counts": rle_string([0, 40])}  # "0X1": 3 characters, 40 of 10,000 pixels
    results = []
    for _ in range(3):
        try:
            results.append(rle_to_mask(short).sum())
        except InvalidMask:
            results.append("refused")
    assert results == ["refused"] * 3


def test_a_complete_compressed_string_still_decodes():
    mask = box_mask()
    assert rle_string([8 * 2 + 1, 3, 5, 3, 5, 3, 5, 3, 4 + 8 * 6]) == mask_to_rle(mask)["counts"]
    np.testing.assert_array_equal(rle_to_mask(mask_to_rle(mask)), mask)


@pytest.mark.parametrize("counts", ["é", "0\x00X", "0 1", "\U0001f600", "~~~~", "0" * 1, "o"])
def test_counts_outside_the_alphabet_are_a_400_not_a_500(world, counts):
    response = _post(world, world.manager, {"size": [8, 12], "counts": counts})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_mask"


def test_coco_segmentation_with_a_short_string_is_refused():
    with pytest.raises(InvalidMask, match="96"):
        segmentation_to_mask({"size": [8, 12], "counts": rle_string([0, 40])}, height=8, width=12)
