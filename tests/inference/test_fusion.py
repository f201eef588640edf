"""BatchNorm folding: same outputs as the unfused network, fewer modules, only in eval mode."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from inference.model_zoo import load_model
from inference.networks.fusion import fold_batchnorm, fuse_conv_bn


def _randomised(bn: nn.BatchNorm2d, gen: torch.Generator) -> nn.BatchNorm2d:
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(bn.num_features, generator=gen))
        bn.running_var.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)
        bn.weight.copy_(torch.randn(bn.num_features, generator=gen))
        bn.bias.copy_(torch.randn(bn.num_features, generator=gen))
    return bn


def test_fold_matches_conv_then_batchnorm_for_grouped_and_biased_convs():
    gen = torch.Generator().manual_seed(0)
    for conv in (nn.Conv2d(6, 6, 3, padding=2, dilation=2, groups=6, bias=False),
                 nn.Conv2d(6, 4, 1, bias=True), nn.Conv2d(6, 8, 3, stride=2, padding=1, bias=False)):
        bn = _randomised(nn.BatchNorm2d(conv.out_channels), gen).eval()
        x = torch.randn(2, 6, 17, 13, generator=gen)
        with torch.no_grad():
            torch.testing.assert_close(fold_batchnorm(conv, bn)(x), bn(conv(x)), atol=1e-5, rtol=1e-5)


def test_fuse_conv_bn_folds_pairs_in_sequentials_only():
    gen = torch.Generator().manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), _randomised(nn.BatchNorm2d(8), gen),
                        nn.ReLU(), nn.Sequential(nn.Conv2d(8, 8, 1), _randomised(nn.BatchNorm2d(8), gen)),
                        nn.ReLU(), _randomised(nn.BatchNorm2d(8), gen))   # a lone BN stays
    x = torch.randn(1, 3, 20, 20, generator=gen)
    with pytest.raises(ValueError):
        fuse_conv_bn(net)          # still in training mode
    net.eval()
    with torch.no_grad():
        before = net(x)
        assert fuse_conv_bn(net) == 2
        after = net(x)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 1
    assert fuse_conv_bn(net) == 0  # idempotent


def test_default_model_is_optimised_at_load_and_agrees_with_the_plain_one():
    fused = load_model("default", device="cpu")
    plain = load_model("default", device="cpu", optimise=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.net.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in plain.net.modules())
    first_conv = next(m for m in fused.net.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.weight.is_contiguous(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(2)
    image = torch.rand(1, 4, 96, 128, generator=gen)
    points = torch.tensor([[[40.0, 60.0, 0.0], [-1.0, -1.0, -1.0], [10.0, 10.0, 1.0], [-1.0, -1.0, -1.0]]])
    with torch.no_grad():
        a = torch.sigmoid(fused.net(image, points)["instances"])
        b = torch.sigmoid(plain.net(image, points)["instances"])
    assert float((a - b).abs().max()) < 1e-4
