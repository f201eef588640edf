"""Click value type, the reference points tensor and the BRS click squares."""
from __future__ import annotations

import pytest
import torch

from inference.clicks import Click, click_square_maps, points_tensor


def test_click_rejects_bad_values():
    with pytest.raises(TypeError):
        Click("1", 2, True)
    with pytest.raises(ValueError):
        Click(float("nan"), 2, True)
    with pytest.raises(TypeError):
        Click(1, 2, "yes")


def test_points_tensor_layout_is_y_x_index_with_padding():
    clicks = [Click(94, 88, True), Click(190, 86, False), Click(200, 34, True)]
    points = points_tensor([clicks])
    assert points.shape == (1, 4, 3) and points.dtype == torch.float32
    assert points[0].tolist() == [[88, 94, 0], [34, 200, 2], [86, 190, 1], [-1, -1, -1]]


def test_points_tensor_limit_keeps_first_clicks_and_caps_padding():
    clicks = [Click(i, 10 + i, True) for i in range(4)] + [Click(50, 50, False)]
    points = points_tensor([clicks], limit=2, with_index=False)
    # P = min(limit, max(#pos, #neg) over all clicks) = 2; only the first 2 clicks are written.
    assert points.shape == (1, 4, 2)
    assert points[0].tolist() == [[10, 0], [11, 1], [-1, -1], [-1, -1]]


def test_points_tensor_index_offset_and_batch():
    a, b = [Click(1, 2, True)], [Click(3, 4, False), Click(5, 6, False)]
    points = points_tensor([a, b], index_offset=1)
    assert points.shape == (2, 4, 3)
    assert points[0, 0].tolist() == [2, 1, 1]
    assert points[1, 2].tolist() == [4, 3, 1] and points[1, 3].tolist() == [6, 5, 2]


def test_click_squares_use_bankers_rounding():
    pos, neg = click_square_maps([[Click(2.5, 3.5, True), Click(6, 6, False)]], (10, 10))
    rows, cols = torch.nonzero(pos[0, 0], as_tuple=True)
    # round(3.5) = 4 (row), round(2.5) = 2 (col): square rows 3..5, cols 1..3.
    assert sorted(set(rows.tolist())) == [3, 4, 5] and sorted(set(cols.tolist())) == [1, 2, 3]
    assert neg.sum() == 9 and neg[0, 0, 5:8, 5:8].sum() == 9


def test_click_square_on_row_or_column_zero_is_empty():
    pos, neg = click_square_maps([[Click(0, 5, True), Click(5, 0, False), Click(9, 9, True)]], (10, 10))
    # The two border clicks get empty squares (reference quirk); the corner click keeps its 2x2 part.
    assert neg.sum() == 0
    assert pos.sum() == 4 and pos[0, 0, 8:, 8:].sum() == 4
