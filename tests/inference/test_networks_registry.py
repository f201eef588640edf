"""Tests of the network builder registry."""
from __future__ import annotations

import pytest
import torch

from inference.networks import registry
from inference.networks.base import ClickNetwork


class _Tiny(ClickNetwork):
    def __init__(self, width: int = 2) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, width, 1)


def test_register_and_build_passes_params() -> None:
    @registry.register("_test_tiny")
    def _build_tiny(width: int = 2) -> ClickNetwork:
        return _Tiny(width)

    net = registry.build("_test_tiny", width=5)
    assert isinstance(net, _Tiny)
    assert net.conv.out_channels == 5
    assert "_test_tiny" in registry.registered_names()


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(registry.UnknownNetworkError, match="unknown network 'no-such-net'"):
        registry.build("no-such-net")


def test_duplicate_name_with_other_builder_rejected() -> None:
    @registry.register("_test_dup")
    def _first() -> ClickNetwork:
        return _Tiny()

    with pytest.raises(ValueError, match="already registered"):
        @registry.register("_test_dup")
        def _second() -> ClickNetwork:
            return _Tiny()


def test_bad_params_and_non_network_builder() -> None:
    @registry.register("_test_not_net")
    def _bad() -> object:
        return object()

    with pytest.raises(TypeError, match="not a ClickNetwork"):
        registry.build("_test_not_net")
    with pytest.raises(TypeError, match="cannot build network '_test_tiny2'"):
        registry.register("_test_tiny2")(lambda width=2: _Tiny(width))
        registry.build("_test_tiny2", depth=3)
