"""labeling.masks: RLE round trips, area/bbox, and the three accepted mask payloads."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image as PILImage

from labeling.masks import InvalidMask, mask_to_rle, parse_mask_payload, rle_area, rle_bbox, rle_to_mask


def _random_mask(seed: int, shape=(17, 23)) -> np.ndarray:
    return np.random.default_rng(seed).random(shape) > 0.6


@pytest.mark.parametrize("seed", range(4))
def test_compressed_rle_round_trip(seed):
    mask = _random_mask(seed)
    rle = mask_to_rle(mask)
    assert rle["size"] == [17, 23] and isinstance(rle["counts"], str)
    np.testing.assert_array_equal(rle_to_mask(rle), mask)
    assert rle_area(rle) == int(mask.sum())


def test_bbox_is_x_y_width_height():
    mask = np.zeros((10, 20), bool)
    mask[3:7, 5:15] = True  # rows 3..6 (y), columns 5..14 (x)
    assert rle_bbox(mask_to_rle(mask)) == [5, 3, 10, 4]


def _uncompressed(mask: np.ndarray) -> dict:
    flat = mask.flatten(order="F").astype(int)
    counts, current, run = [], 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return {"size": list(mask.shape), "counts": counts}


def test_uncompressed_rle_is_column_major():
    mask = _random_mask(7, (5, 9))
    np.testing.assert_array_equal(parse_mask_payload(_uncompressed(mask), 5, 9), mask)


def test_png_payload():
    mask = _random_mask(3, (6, 8))
    buf = io.BytesIO()
    PILImage.fromarray(mask.astype(np.uint8) * 255).save(buf, format="PNG")
    payload = {"png": base64.b64encode(buf.getvalue()).decode()}
    np.testing.assert_array_equal(parse_mask_payload(payload, 6, 8), mask)


@pytest.mark.parametrize("payload", [
    None, [], {"foo": 1}, {"png": "not base64!!"}, {"png": base64.b64encode(b"GIF89a....").decode()},
    {"size": [5, 9], "counts": [1, 2]}, {"size": [5], "counts": "abc"}, {"size": [5, 9], "counts": 3},
    {"size": [5, 9], "counts": [-1, 46]},
])
def test_bad_payloads_are_rejected(payload):
    with pytest.raises(InvalidMask):
        parse_mask_payload(payload, 5, 9)


def test_size_mismatch_is_rejected():
    rle = mask_to_rle(np.ones((4, 4), bool))
    with pytest.raises(InvalidMask) as info:
        parse_mask_payload(rle, 5, 4)
    assert info.value.status == 400
