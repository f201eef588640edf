"""Loading and saving click-network checkpoints.

Accepted formats (see BRS_FBRS_SPEC §1.4):

- **f-BRS repository**: a raw ``state_dict``; the architecture (DeepLab R34/50/101 with its ``deeplab_ch``,
  or HRNet with its width / OCR width / small flag) is detected from the key names and shapes.
- **RITM repository**: ``{"state_dict", "config": {"class": "isegm.model....HRNetModel", "params":
  {name: {"type", "value", "specified"}}}}``; the class and params are mapped to our registry builders.
  A *list* of such dicts (multi-stage models) is refused.
- **ours**: ``{"state_dict", "config": {"class": <registry name>, "params": {...}}, "meta": {...}}``.

Loading is strict: missing, unexpected or shape-mismatched keys raise :class:`CheckpointError` naming them
(only ``num_batches_tracked`` buffers are ignored). The network is returned in eval mode on ``device`` with
``requires_grad=False`` on every parameter. Files are read with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import torch

from . import registry
from .base import ClickNetwork

FBRS_NORM_RADIUS = 260
_IGNORED_SUFFIX = "num_batches_tracked"
_MAX_KEYS_LISTED = 10


class CheckpointError(ValueError):
    """The checkpoint cannot be read, its format or architecture is not recognised, or its weights do not
    fit the architecture."""


# --------------------------------------------------------------------------------------------------
# reading

def _read(path_or_obj: str | os.PathLike[str] | Any) -> Any:
    if not isinstance(path_or_obj, (str, os.PathLike)):
        return path_or_obj
    path = Path(path_or_obj)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle / zip errors, or objects outside the weights-only allow-list
        raise CheckpointError(f"cannot read checkpoint {path} (weights-only loading; metadata must be "
                              f"plain Python data): {exc}") from exc


def _safe_globals() -> list[Any]:
    """Harmless non-tensor types allowed in checkpoint metadata besides the weights-only defaults:
    ``torch.__version__`` (TorchVersion) and numpy scalars / dtypes (e.g. metrics stored as np.float32)."""
    import numpy as np
    from torch.torch_version import TorchVersion

    allowed: list[Any] = [TorchVersion, np.dtype]
    scalar = getattr(getattr(np, "_core", None), "multiarray", None) or np.core.multiarray
    allowed.append(scalar.scalar)
    allowed += [type(np.dtype(name)) for name in ("float16", "float32", "float64", "int32", "int64", "bool")]
    return allowed


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


# --------------------------------------------------------------------------------------------------
# f-BRS raw state_dict → architecture

def detect_fbrs_architecture(state_dict: Mapping[str, torch.Tensor]) -> tuple[str, dict[str, Any]]:
    """(registry name, params) of the f-BRS network a raw state_dict belongs to, by the official rules.

    HRNet if a key contains ``feature_extractor.stage2.0.branches`` (small if fewer than 1800
    ``feature_extractor.`` keys; width from ``stage2.0.branches.0.0.conv1.weight``; OCR width from
    ``object_context_block.f_down.1.0.bias``); otherwise DeepLab, the ResNet depth from the number of
    ``feature_extractor.backbone`` keys (≤181 R34, ≤276 R50, ≤531 R101) and ``deeplab_ch`` from
    ``aspp.project.0.weight``.
    """
    keys = list(state_dict)
    use_rgb_conv = "rgb_conv.0.weight" in state_dict
    if any("feature_extractor.stage2.0.branches" in k for k in keys):
        width_key = "feature_extractor.stage2.0.branches.0.0.conv1.weight"
        if width_key not in state_dict:
            raise CheckpointError(f"HRNet checkpoint without {width_key!r}")
        ocr_keys = [k for k in keys if k.endswith("object_context_block.f_down.1.0.bias")]
        params = {
            "width": int(state_dict[width_key].shape[0]),
            "ocr_width": int(state_dict[ocr_keys[0]].shape[0]) if ocr_keys else 0,
            "small": sum("feature_extractor." in k for k in keys) < 1800,
            "with_aux_output": True,
            "use_rgb_conv": use_rgb_conv,
            "norm_radius": FBRS_NORM_RADIUS,
        }
        return "fbrs_hrnet", params

    n_backbone = sum("feature_extractor.backbone" in k and not k.endswith(_IGNORED_SUFFIX) for k in keys)
    if n_backbone == 0:
        raise CheckpointError("unrecognised state_dict: neither f-BRS HRNet nor DeepLab keys found "
                              f"(first keys: {keys[:5]})")
    for limit, backbone in ((181, "resnet34"), (276, "resnet50"), (531, "resnet101")):
        if n_backbone <= limit:
            break
    else:
        raise CheckpointError(f"unrecognised DeepLab backbone with {n_backbone} backbone keys")
    project_key = "feature_extractor.aspp.project.0.weight"
    if project_key not in state_dict:
        raise CheckpointError(f"DeepLab checkpoint without {project_key!r}")
    deeplab_ch = int(state_dict[project_key].shape[0])
    params = {
        "backbone": backbone,
        "deeplab_ch": deeplab_ch,
        "aspp_dropout": 0.5 if deeplab_ch == 256 else 0.2,
        "use_rgb_conv": use_rgb_conv,
        "norm_radius": FBRS_NORM_RADIUS,
    }
    return "fbrs_deeplab", params


# --------------------------------------------------------------------------------------------------
# RITM config → registry builder

def _ritm_param_value(entry: Any) -> Any:
    if isinstance(entry, Mapping) and "value" in entry:
        return entry["value"]
    return entry


def _check_batchnorm(name: str, value: Any) -> None:
    if value is None:
        return
    text = value if isinstance(value, str) else getattr(value, "__name__", repr(value))
    if not text.endswith("BatchNorm2d"):
        raise CheckpointError(f"RITM param {name}={text!r} is not supported (only BatchNorm2d)")


def _ritm_common(params: dict[str, Any], out: dict[str, Any]) -> None:
    """Map the ISModel params shared by every RITM model; pop what is consumed."""
    for name in ("with_prev_mask", "binary_prev_mask", "use_disks", "norm_radius", "use_rgb_conv",
                 "conv_extend", "use_leaky_relu", "norm_mean_std", "with_aux_output"):
        if name in params:
            out[name] = params.pop(name)
    if params.pop("clicks_groups", None) is not None:
        raise CheckpointError("RITM clicks_groups models are not supported")
    for name in ("norm_layer", "backbone_norm_layer"):
        _check_batchnorm(name, params.pop(name, None))
    # training-only or CPU-path switches with no effect on our inference numerics
    params.pop("backbone_lr_mult", None)
    params.pop("cpu_dist_maps", None)


def _ritm_hrnet(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    out: dict[str, Any] = {}
    for name in ("width", "ocr_width", "small"):
        if name in params:
            out[name] = params.pop(name)
    _ritm_common(params, out)
    return "ritm_hrnet", out


def _ritm_deeplab(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    out: dict[str, Any] = {}
    for name in ("backbone", "deeplab_ch", "aspp_dropout"):
        if name in params:
            out[name] = params.pop(name)
    _ritm_common(params, out)
    out.pop("with_aux_output", None)  # DeepLab has no auxiliary output
    return "ritm_deeplab", out


# RITM class name (last dotted component) → mapper of its params to (registry name, params)
RITM_CLASS_MAPPERS: dict[str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]] = {
    "HRNetModel": _ritm_hrnet,
    "DeeplabModel": _ritm_deeplab,
}


def ritm_config_to_registry(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Map a RITM ``{'class': dotted name, 'params': {...}}`` config to (registry name, builder params).

    Raises CheckpointError for unsupported classes or params (naming them).
    """
    class_name = str(config.get("class", ""))
    short = class_name.rsplit(".", 1)[-1]
    mapper = RITM_CLASS_MAPPERS.get(short)
    if mapper is None:
        raise CheckpointError(f"unsupported RITM model class {class_name!r}; supported: "
                              f"{sorted(RITM_CLASS_MAPPERS)}")
    raw = config.get("params") or {}
    params = {name: _ritm_param_value(entry) for name, entry in raw.items()}
    name, out = mapper(params)
    if params:
        raise CheckpointError(f"unsupported params of RITM {short}: {sorted(params)}")
    return name, out


# --------------------------------------------------------------------------------------------------
# strict loading

def _relevant(keys: Any) -> set[str]:
    return {k for k in keys if not k.endswith(_IGNORED_SUFFIX)}


def _listing(keys: set[str]) -> str:
    ordered = sorted(keys)
    more = f" (+{len(ordered) - _MAX_KEYS_LISTED} more)" if len(ordered) > _MAX_KEYS_LISTED else ""
    return ", ".join(ordered[:_MAX_KEYS_LISTED]) + more


def load_state_dict_strict(net: torch.nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Copy ``state_dict`` into ``net``; every key must match by name and shape (``num_batches_tracked``
    excepted, in either direction). Raises CheckpointError listing the offending keys."""
    own = net.state_dict()
    missing = _relevant(own) - _relevant(state_dict)
    unexpected = _relevant(state_dict) - _relevant(own)
    mismatched = {f"{k} {tuple(state_dict[k].shape)} vs {tuple(own[k].shape)}"
                  for k in _relevant(state_dict) & _relevant(own) if state_dict[k].shape != own[k].shape}
    problems = []
    if missing:
        problems.append(f"missing keys: {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listing(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatches (checkpoint vs network): {_listing(mismatched)}")
    if problems:
        raise CheckpointError(f"checkpoint does not fit {type(net).__name__}: " + "; ".join(problems))
    usable = {k: v for k, v in state_dict.items() if k in own}
    net.load_state_dict(usable, strict=False)


def _finish(net: ClickNetwork, state_dict: Mapping[str, torch.Tensor], device: str | torch.device) -> ClickNetwork:
    load_state_dict_strict(net, state_dict)
    net.eval()
    for param in net.parameters():
        param.requires_grad_(False)
    return net.to(device)


def _build(name: str, params: Mapping[str, Any]) -> ClickNetwork:
    try:
        return registry.build(name, **dict(params))
    except (registry.UnknownNetworkError, TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot build network {name!r} from the checkpoint config: {exc}") from exc


def load_checkpoint(path_or_obj: str | os.PathLike[str] | Any, device: str | torch.device = "cpu", *,
                    fbrs_norm_radius: float = FBRS_NORM_RADIUS) -> ClickNetwork:
    """Load a click network from a checkpoint file path or an already-loaded checkpoint object.

    Args:
        path_or_obj: path to a ``.pth`` file, or the object ``torch.load`` returned (raw state_dict, RITM
            dict, our dict, or a list of RITM dicts, which is refused).
        device: device of the returned network.
        fbrs_norm_radius: distance-map radius for f-BRS raw state_dicts (a CLI option in the reference).

    Returns:
        The network in eval mode with ``requires_grad=False``.

    Raises:
        CheckpointError: unreadable file, unknown format / architecture, or weights not fitting.
    """
    obj = _read(path_or_obj)
    if isinstance(obj, (list, tuple)):
        raise CheckpointError("multi-stage checkpoints are not supported (got a list of "
                              f"{len(obj)} checkpoints; load a single-stage model)")
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"unrecognised checkpoint object of type {type(obj).__name__}")

    if "state_dict" in obj and isinstance(obj.get("config"), Mapping):
        state_dict = obj["state_dict"]
        if not _is_state_dict(state_dict):
            raise CheckpointError("checkpoint 'state_dict' is not a mapping of names to tensors")
        config = obj["config"]
        class_name = str(config.get("class", ""))
        if class_name in registry.registered_names():
            params = config.get("params") or {}
            if not isinstance(params, Mapping):
                raise CheckpointError("checkpoint config 'params' must be a mapping")
            return _finish(_build(class_name, params), state_dict, device)
        name, params = ritm_config_to_registry(config)
        return _finish(_build(name, params), state_dict, device)

    if "state_dict" in obj and _is_state_dict(obj["state_dict"]) and "config" not in obj:
        obj = obj["state_dict"]
    if _is_state_dict(obj):
        name, params = detect_fbrs_architecture(obj)
        params["norm_radius"] = fbrs_norm_radius
        return _finish(_build(name, params), obj, device)
    raise CheckpointError(f"unrecognised checkpoint layout (top-level keys: {sorted(map(str, obj))[:8]})")


def save_checkpoint(net: ClickNetwork, path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``{"state_dict", "config": net.config(), "meta"}`` (our format) to ``path``; returns the path.

    The config must name a registered builder, so :func:`load_checkpoint` can rebuild the network.
    """
    config = net.config()
    if config.get("class") not in registry.registered_names():
        raise CheckpointError(f"network config class {config.get('class')!r} is not a registered network")
    state_dict = {k: v.detach().to("cpu").clone() for k, v in net.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"state_dict": state_dict, "config": config, "meta": dict(meta or {})}, tmp)
    os.replace(tmp, path)
    return path
