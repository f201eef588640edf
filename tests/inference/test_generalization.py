"""BRS generalization: a non-interactive CNN made interactive by widening its first convolution."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from inference.clicks import Click, points_tensor
from inference.networks.generalization import convert_to_interactive, interaction_maps
from inference.predictors.base import PredictorConfig
from inference.session import SegmentationSession


def _plain_cnn() -> nn.Module:
    """A small 'pretrained' (seeded) segmentation CNN: normalised RGB → 2-class logits at stride 2."""
    gen = torch.Generator().manual_seed(3)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                        nn.ReLU(), nn.Conv2d(8, 2, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.4)
    return net.eval()


def test_interaction_maps_values():
    points = points_tensor([[Click(3, 4, True)]], with_index=False)
    maps = interaction_maps(points, 10, 12)
    assert maps[0, 0, 4, 3] == 1 and torch.isclose(maps[0, 0, 4, 8], torch.tensor(1 - 5 / 255))
    assert maps[0, 1].abs().sum() == 0        # no negative click: zeros


def test_conversion_keeps_predictions_and_leaves_original_untouched():
    cnn = _plain_cnn()
    first = cnn[0].weight.clone()
    net = convert_to_interactive(cnn, class_index=1)
    assert cnn[0].in_channels == 3 and torch.equal(cnn[0].weight, first)
    assert net.cnn[0].in_channels == 5 and net.cnn[0].weight[:, 3:].abs().sum() == 0
    image = torch.rand(1, 3, 32, 40)
    norm, _ = net.prepare_input(image)
    points = points_tensor([[Click(10, 10, True)]], with_index=False)
    with torch.no_grad():
        ours = net.backbone_forward(norm, net.get_coord_features(norm, None, points))["instances"]
        logits = cnn(norm)
    assert torch.allclose(ours, logits[:, 1:2] - logits[:, :1], atol=1e-6)


def test_brs_moves_the_converted_networks_mask_toward_the_clicks():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, size=(32, 40, 3), dtype=np.uint8)
    net = convert_to_interactive(_plain_cnn(), class_index=1)
    plain = SegmentationSession(net, image, mode="nobrs", config=PredictorConfig(zoom_in=None))
    first = plain.add_click(Click(20, 16, True))
    # the clicks contradict the plain prediction where it is most confident
    inner = first[3:-3, 3:-3]    # away from the border (a click on row/col 0 has an empty loss square)
    pos_y, pos_x = np.add(np.unravel_index(np.argmin(inner), inner.shape), 3)
    neg_y, neg_x = np.add(np.unravel_index(np.argmax(inner), inner.shape), 3)
    clicks = [Click(20, 16, True), Click(int(pos_x), int(pos_y), True), Click(int(neg_x), int(neg_y), False)]
    brs = SegmentationSession(net, image, mode="rgb-brs", config=PredictorConfig(zoom_in=None))
    for click in clicks:
        probs = brs.add_click(click)
        base = plain.add_click(click) if click is not clicks[0] else first
    assert probs[pos_y, pos_x] > base[pos_y, pos_x] + 0.05
    assert probs[neg_y, neg_x] < base[neg_y, neg_x] - 0.05
    assert brs.last_stats["n_objective_evals"] > 0
