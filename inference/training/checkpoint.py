"""Checkpoint files of a training run.

Model checkpoints use the engine's format `{"state_dict", "config": {"class", "params"}, "meta"}`; the
resumable `last.pth` adds `"train_state"` (optimizer, step, elapsed seconds, RNG states).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from inference.networks.base import ClickNetwork


def model_payload(net: ClickNetwork, network: str, params: dict[str, Any], meta: dict[str, Any],
                  half: bool = False) -> dict[str, Any]:
    """The engine checkpoint dict; `half` stores floating tensors as fp16."""
    state = {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu().clone())
             for k, v in net.state_dict().items()}
    return {"state_dict": state, "config": {"class": network, "params": dict(params)}, "meta": dict(meta)}


def atomic_save(obj: Any, path: str | Path) -> None:
    """torch.save to a temporary file, then rename (a crash never leaves a half-written checkpoint)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_payload(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint dict (CPU); raises ValueError if it lacks state_dict/config."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(payload, dict) or "state_dict" not in payload or "config" not in payload:
        raise ValueError(f"{path} is not a ClickLabel checkpoint")
    return payload
