"""Click maps (RITM disks, f-BRS distance maps), ScaleLayer, normalisation and fusion blocks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.networks.ops import (BatchImageNormalize, ScaleLayer, click_maps, conv1s_maps_transform,
                                    fbrs_dmf)


def _points(pos: list[tuple[float, float]], neg: list[tuple[float, float]], with_index: bool = False) -> torch.Tensor:
    """(1, 2P, 2|3) points tensor, rows (y, x[, index]), padded with -1."""
    p = max(len(pos), len(neg), 1)
    width = 3 if with_index else 2
    rows = []
    for group in (pos, neg):
        for i in range(p):
            if i < len(group):
                rows.append(list(group[i]) + ([float(i)] if with_index else []))
            else:
                rows.append([-1.0] * width)
    return torch.tensor([rows], dtype=torch.float32)


def _brute_distance(h: int, w: int, clicks: list[tuple[float, float]]) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    if not clicks:
        return np.full((h, w), np.inf)
    return np.min([np.hypot(ys - y, xs - x) for y, x in clicks], axis=0)


def test_distance_maps_match_closed_form() -> None:
    pos, neg = [(3.0, 4.0), (10.5, 2.25)], [(7.0, 12.0)]
    maps = click_maps(_points(pos, neg), 14, 16, 260, use_disks=False)
    assert maps.shape == (1, 2, 14, 16) and maps.dtype == torch.float32
    for channel, clicks in enumerate((pos, neg)):
        expected = np.tanh(2 * _brute_distance(14, 16, clicks) / 260)
        np.testing.assert_allclose(maps[0, channel].numpy(), expected, atol=1e-6)
    assert maps[0, 0, 3, 4] == 0.0


def test_distance_maps_missing_polarity_is_one() -> None:
    maps = click_maps(_points([(2.0, 2.0)], []), 8, 9, 260, use_disks=False)
    assert torch.all(maps[0, 1] == 1.0)
    assert maps[0, 0].min() == 0.0


def test_disks_radius_and_index_column_ignored() -> None:
    pts = _points([(10.0, 10.0)], [(2.0, 3.0)], with_index=True)
    maps = click_maps(pts, 24, 24, 5, use_disks=True)
    assert set(torch.unique(maps).tolist()) == {0.0, 1.0}
    expected = (_brute_distance(24, 24, [(10.0, 10.0)]) ** 2 <= 25).astype(np.float32)
    np.testing.assert_array_equal(maps[0, 0].numpy(), expected)
    assert maps[0, 0, 10, 15] == 1.0 and maps[0, 0, 10, 16] == 0.0  # exactly on the radius counts
    assert maps[0, 1, 2, 3] == 1.0


def test_click_maps_batch_items_are_independent() -> None:
    a = _points([(1.0, 1.0)], [(5.0, 5.0)])
    b = _points([(6.0, 0.0)], [])
    both = click_maps(torch.cat([a, b]), 8, 8, 260, use_disks=False)
    np.testing.assert_array_equal(both[0].numpy(), click_maps(a, 8, 8, 260, use_disks=False)[0].numpy())
    np.testing.assert_array_equal(both[1].numpy(), click_maps(b, 8, 8, 260, use_disks=False)[0].numpy())


@pytest.mark.parametrize("shape", [(1, 3, 2), (1, 4), (1, 4, 4)])
def test_click_maps_rejects_bad_points(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="points must have shape"):
        click_maps(torch.zeros(shape), 4, 4, 5, use_disks=True)


def test_scale_layer_uses_absolute_value() -> None:
    layer = ScaleLayer(init_value=0.05)
    with torch.no_grad():
        layer.scale.fill_(-2.0)
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(layer(x), 2.0 * x)


def test_batch_image_normalize_and_no_state_keys() -> None:
    norm = BatchImageNormalize()
    x = torch.rand(2, 3, 5, 5)
    expected = (x - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    torch.testing.assert_close(norm(x), expected)
    assert len(norm.state_dict()) == 0
    with pytest.raises(ValueError):
        norm(torch.rand(2, 4, 5, 5))


def test_fusion_blocks_shapes_and_keys() -> None:
    conv1s = conv1s_maps_transform(3, leaky=True)
    assert conv1s(torch.rand(1, 3, 20, 30)).shape == (1, 64, 10, 15)
    assert set(conv1s.state_dict()) == {"0.weight", "0.bias", "2.weight", "2.bias", "3.scale"}
    dmf = fbrs_dmf().eval()
    assert dmf(torch.rand(2, 5, 6, 7)).shape == (2, 3, 6, 7)
    assert isinstance(dmf[2], torch.nn.BatchNorm2d)  # LeakyReLU before BN in the f-BRS DMF block


def _dense_reference_maps(points: torch.Tensor, rows: int, cols: int, radius: float, use_disks: bool) -> torch.Tensor:
    """The reference DistMaps arithmetic on full (N, 2, H, W) grids, one float32 op per step: coordinate grid
    − click, ÷ radius (distance maps only), square, sum of the two planes, 1e6 for padding, min over clicks,
    then disks ``≤ r²`` or ``tanh(2·sqrt)``. Written to compare the slot-by-slot loop of ``click_maps``."""
    batch, n_rows = points.shape[0], points.shape[1]
    yx = points[:, :, :2].reshape(-1, 2)
    grid = torch.stack(torch.meshgrid(torch.arange(rows, dtype=torch.float32),
                                      torch.arange(cols, dtype=torch.float32), indexing="ij"))
    diff = grid[None].repeat(yx.shape[0], 1, 1, 1) - yx[:, :, None, None]
    if not use_disks:
        diff = diff / radius
    diff = diff * diff
    sq = diff[:, 0] + diff[:, 1]
    sq[yx.max(dim=1)[0] < 0] = 1e6
    sq = sq.view(batch, 2, n_rows // 2, rows, cols).min(dim=2)[0]
    return (sq <= radius ** 2).float() if use_disks else sq.sqrt().mul(2).tanh()


@pytest.mark.parametrize("use_disks, radius", [(False, 260.0), (False, 7.5), (True, 5.0)])
def test_click_maps_loop_is_bitwise_the_dense_computation(use_disks: bool, radius: float) -> None:
    """The per-slot loop (O(B·2·H·W) memory) must give the same float32 bits as materialising every click at
    once — the parity with the reference code rests on it (non-integer clicks, padding, two batch items)."""
    a = _points([(3.0, 4.0), (10.5, 2.25), (0.0, 30.0)], [(7.0, 12.0)])
    b = _points([(17.75, 25.5)], [(1.0, 1.0), (19.0, 0.5), (9.25, 9.75)])
    points = torch.cat([a, b])
    maps = click_maps(points, 21, 33, radius, use_disks=use_disks)
    expected = _dense_reference_maps(points, 21, 33, radius, use_disks)
    assert torch.equal(maps, expected)
