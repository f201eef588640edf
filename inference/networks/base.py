"""The interface every click network implements, so that predictors (NoBRS, RGB-/DistMap-BRS, f-BRS-A/B/C)
work on any of them without `isinstance` checks.

Tensor conventions: NCHW float32; images are RGB in [0, 1] as handed to `prepare_input`;
points are the reference layout `(B, 2P, 2|3)` with rows `(y, x[, index])`, the first P rows positive
clicks and the next P rows negative clicks, padded with -1 (this is the only place where (y, x) order
appears: `inference.clicks` builds it from our (x, y) clicks).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


class ClickNetwork(nn.Module):
    """Base class of all interactive segmentation networks.

    Class attributes set by subclasses:
        family: "ritm" (normalisation inside the model, click disks through Conv1S, optional previous-mask
            channel, points rows (y, x, index)) or "fbrs" (input normalised outside by `prepare_input`
            as well, distance maps through the DMF block, points rows (y, x)).
        with_prev_mask: whether the image handed to `prepare_input` has a 4th channel (previous probability).
        brs_insertion_points: mode letter -> insertion point name, e.g. {"A": "after_c4", "B": "after_aspp",
            "C": "after_deeplab"}; HRNet maps both "A" and "B" to "A".
    """

    family: str = "ritm"
    with_prev_mask: bool = False
    brs_insertion_points: dict[str, str] = {}
    # Whether `model_zoo.load_model` applies `fusion.optimise_for_inference` (BatchNorm folding, channels-
    # last weights on CPU) by default. Off for the reference-compatible networks, whose outputs the parity
    # fixtures pin bit for bit.
    optimise_at_load: bool = False
    # Name under which the class's builder is registered in inference.networks.registry ("" = none).
    registry_name: str = ""

    def config(self) -> dict[str, Any]:
        """{"class": registry name, "params": constructor keyword params}: enough for
        ``registry.build(cfg["class"], **cfg["params"])`` to rebuild the architecture (used by
        ``checkpoints.save_checkpoint``). Subclasses set ``registry_name`` and store their constructor
        params in ``self._config_params`` (or override this method)."""
        params = getattr(self, "_config_params", None)
        if not self.registry_name or params is None:
            raise NotImplementedError(f"{type(self).__name__} does not describe its config "
                                      "(set registry_name and _config_params, or override config())")
        return {"class": self.registry_name, "params": dict(params)}

    def prepare_input(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Split (B, 3[+1], H, W) RGB in [0,1] (+ prev mask) into (normalised image (B,3,H,W), prev mask (B,1,H,W) | None)."""
        raise NotImplementedError

    def get_coord_features(self, image: torch.Tensor, prev_mask: torch.Tensor | None,
                           points: torch.Tensor) -> torch.Tensor:
        """Click maps (B, C, H, W) at the network-input resolution: RITM [prev, pos disks, neg disks] (or
        [pos, neg] without prev mask); f-BRS [pos distance map, neg distance map]."""
        raise NotImplementedError

    def backbone_forward(self, image: torch.Tensor, coord_features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the network from the normalised image (B,3,H,W) and click maps; returns {"instances": logits
        (B,1,h,w) at feature resolution[, "instances_aux": ...]} (not yet upsampled)."""
        raise NotImplementedError

    def forward(self, image: torch.Tensor, points: torch.Tensor) -> dict[str, torch.Tensor]:
        """Full forward: (B,3[+1],H,W) in [0,1] + points → {"instances": logits (B,1,H,W) bilinearly
        upsampled (align_corners=True) to the input size[, "instances_aux": same]}."""
        image, prev_mask = self.prepare_input(image)
        coord_features = self.get_coord_features(image, prev_mask, points)
        outputs = self.backbone_forward(image, coord_features)
        size = image.shape[2:]
        return {
            key: nn.functional.interpolate(value, size=size, mode="bilinear", align_corners=True)
            for key, value in outputs.items()
        }

    # --- f-BRS support -------------------------------------------------------------------------------
    def forward_to_insertion(self, point: str, image: torch.Tensor,
                             coord_features: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """Run the front part up to insertion `point`; returns (features (B, C, h, w), extras needed by the
        tail, e.g. the c1 skip features for DeepLab's after_c4). Called under no_grad and cached."""
        raise NotImplementedError

    def forward_from_insertion(self, point: str, features: torch.Tensor, extras: Any) -> torch.Tensor:
        """Run the tail from (scaled/biased) `features`; returns instance logits (B,1,h,w) at feature
        resolution (the caller upsamples to the network-input size)."""
        raise NotImplementedError

    def insertion_channels(self, point: str) -> int:
        """Number of channels C at `point` (the f-BRS variable has 2·C entries: scale then bias)."""
        raise NotImplementedError
