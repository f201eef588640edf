"""Predictors keyed by mode: `nobrs`, `rgb-brs`, `distmap-brs`, `f-brs-a`, `f-brs-b`, `f-brs-c`, `grabcut`.

`build_predictor(mode, net, device, config)` looks the mode up in a registry of small builders.
"""
from __future__ import annotations

from typing import Callable

import torch

from inference.predictors.base import NoBRSPredictor, Predictor, PredictorConfig, ZoomInParams
from inference.predictors.feature_brs import FBRSAPredictor, FBRSBPredictor, FBRSCPredictor
from inference.predictors.grabcut import GrabCutPredictor
from inference.predictors.input_brs import DistMapBRSPredictor, RGBBRSPredictor
from inference.predictors.sam import SAM_MODES

__all__ = ["MODES", "MODEL_FREE_MODES", "PredictorConfig", "ZoomInParams", "Predictor", "build_predictor",
           "register_mode"]

Builder = Callable[[torch.nn.Module | None, torch.device, PredictorConfig], object]
_REGISTRY: dict[str, Builder] = {}
MODEL_FREE_MODES = frozenset({"grabcut"})


def register_mode(mode: str, builder: Builder) -> None:
    """Register a predictor builder `(net, device, config) -> predictor` under `mode`."""
    if mode in _REGISTRY:
        raise ValueError(f"mode {mode!r} is already registered")
    _REGISTRY[mode] = builder


for _cls in (NoBRSPredictor, RGBBRSPredictor, DistMapBRSPredictor, FBRSAPredictor, FBRSBPredictor,
             FBRSCPredictor):
    register_mode(_cls.mode, _cls)
register_mode("grabcut", lambda net, device, config: GrabCutPredictor())

MODES: tuple[str, ...] = tuple(_REGISTRY)


def build_predictor(mode: str, net: torch.nn.Module | None, device: torch.device,
                    config: PredictorConfig | None = None):
    """A fresh predictor for `mode` (the SAM-class network's own predictors for a network of family "sam");
    raises ValueError for unknown modes, a mode the network does not have, or a missing network."""
    if getattr(net, "family", None) == "sam-refined":
        from inference.predictors.combined import SamRefinedPredictor
        return SamRefinedPredictor(net, torch.device(device), config or PredictorConfig(), mode)
    if getattr(net, "family", None) == "sam":
        if mode not in SAM_MODES:
            raise ValueError(f"mode {mode!r} is not available for the SAM-class network; its modes: "
                             f"{', '.join(SAM_MODES)}")
        return SAM_MODES[mode](net, torch.device(device), config or PredictorConfig())
    if mode not in _REGISTRY:
        raise ValueError(f"unknown mode {mode!r}; known modes: {', '.join(_REGISTRY)}")
    if net is None and mode not in MODEL_FREE_MODES:
        raise ValueError(f"mode {mode!r} needs a model")
    return _REGISTRY[mode](net, torch.device(device), config or PredictorConfig())
