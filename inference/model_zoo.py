"""Named models and checkpoint paths → a loaded network ready for sessions.

`load_model("default")` loads `inference/weights/clicklabel_default.pth` (the names are registered in
`inference.catalog`); any other string that is not a registered name is treated as a checkpoint path and loaded with `inference.networks.checkpoints.load_checkpoint`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from inference.catalog import MODEL_REGISTRY, WEIGHTS_DIR, available_models
from inference.utils.device import select_device

# The registry itself lives in inference.catalog (importable without torch); re-exported here.
__all__ = ["MissingWeightsError", "LoadedModel", "MODEL_REGISTRY", "WEIGHTS_DIR", "available_models", "load_model",
           "resolve"]


class MissingWeightsError(FileNotFoundError):
    """The requested model's weights file does not exist."""


@dataclass(frozen=True)
class LoadedModel:
    """A network in eval mode on `device`, with the name it was loaded under."""

    net: torch.nn.Module
    name: str
    device: torch.device


def resolve(name_or_path: str | Path) -> Path:
    """Registered name → its weights path; anything else → the path itself."""
    key = str(name_or_path)
    return MODEL_REGISTRY[key] if key in MODEL_REGISTRY else Path(key)


def load_model(name_or_path: str | Path, device: str | torch.device | None = None,
               optimise: bool | None = None) -> LoadedModel:
    """Load a registered model name or a checkpoint path onto `device` (None → CUDA if present, else CPU).

    `optimise`: fold BatchNorm into the preceding convolutions and, on CPU, store weights channels-last
    (`inference.networks.fusion.optimise_for_inference`; faster, same outputs up to float rounding);
    None → the network class's `optimise_at_load` (on for our own networks, off for the
    reference-compatible ones that the parity fixtures pin).

    Raises `MissingWeightsError` if the file does not exist (with the name and the expected path).
    """
    path = resolve(name_or_path)
    if not path.is_file():
        what = f"model {str(name_or_path)!r}" if str(name_or_path) in MODEL_REGISTRY else "checkpoint"
        raise MissingWeightsError(f"weights for {what} not found at {path}; train or copy the checkpoint there "
                                  f"(registered names: {', '.join(MODEL_REGISTRY)})")
    from inference.networks.checkpoints import load_checkpoint
    target = select_device(device)
    net = load_checkpoint(str(path), target)
    net.eval()
    for param in net.parameters():
        param.requires_grad_(False)
    if optimise if optimise is not None else getattr(net, "optimise_at_load", False):
        from inference.networks.fusion import optimise_for_inference
        optimise_for_inference(net, target)
    return LoadedModel(net=net, name=str(name_or_path), device=target)
