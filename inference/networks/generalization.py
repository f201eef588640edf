"""BRS "generalization": make a pretrained NON-interactive segmentation CNN interactive without training.

`convert_to_interactive(cnn)` copies the CNN, widens its first convolution (3 → 3 + 2 input channels) with
ZERO-initialised weights for the two interaction maps (positive, negative: `1 − min(d, 255)/255` of the
distance d in pixels to the nearest click of that polarity, 0 everywhere without clicks; spec §5), and wraps
it as a `ClickNetwork`. With zero weights the converted network predicts exactly what the original did; the
clicks act through backpropagating refinement at inference time.

Note on "BRS on the maps": at a zero-initialised layer the gradient of the loss w.r.t. the interaction maps is
exactly zero (∂out/∂maps = W_maps = 0), so optimising a bias on the maps alone cannot move anything. The
corrective variable therefore has to reach the network through non-zero weights: `mode="rgb-brs"` optimises
the additive input bias on the image channels of the same first layer (what the tests use), and
`map_weight_init > 0` gives the map channels small initial weights so that `mode="distmap-brs"` works too.
The BRS paper's exact recipe was not available to us (spec §5, "[paper, unverified]").
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from inference.networks.base import ClickNetwork

__all__ = ["interaction_maps", "widen_first_conv", "InteractiveCNN", "convert_to_interactive"]


def interaction_maps(points: torch.Tensor, height: int, width: int, truncate: float = 255.0) -> torch.Tensor:
    """BRS interaction maps (B, 2, H, W) float32 from points (B, 2P, 2|3) rows (y, x[, ...]), −1 = padding:
    value `1 − min(d, truncate)/truncate`, d = Euclidean pixel distance to the nearest click of the polarity."""
    batch, rows = points.shape[0], points.shape[1]
    half = rows // 2
    yy = torch.arange(height, dtype=torch.float32, device=points.device).view(1, 1, height, 1)
    xx = torch.arange(width, dtype=torch.float32, device=points.device).view(1, 1, 1, width)
    maps = []
    for sl in (slice(0, half), slice(half, rows)):
        pts = points[:, sl, :2].float()
        valid = (pts.max(dim=2).values >= 0).view(batch, -1, 1, 1)
        dist = torch.sqrt((yy - pts[..., 0].view(batch, -1, 1, 1)) ** 2 + (xx - pts[..., 1].view(batch, -1, 1, 1)) ** 2)
        dist = torch.where(valid, dist, torch.full_like(dist, float("inf")))
        nearest = dist.min(dim=1).values if dist.shape[1] else torch.full((batch, height, width), float("inf"))
        maps.append(1 - torch.clamp(nearest, max=truncate) / truncate)
    return torch.stack(maps, dim=1)


def _first_conv(module: nn.Module, in_channels: int) -> tuple[nn.Module, str, nn.Conv2d]:
    for name, child in module.named_modules():
        if isinstance(child, nn.Conv2d) and child.in_channels == in_channels and child.groups == 1:
            parent_name, _, attr = name.rpartition(".")
            return (module.get_submodule(parent_name) if parent_name else module), attr, child
    raise ValueError(f"no Conv2d with {in_channels} input channels found in {type(module).__name__}")


def widen_first_conv(cnn: nn.Module, extra: int = 2, in_channels: int = 3, init: float = 0.0) -> nn.Module:
    """A deep copy of `cnn` whose first Conv2d takes `in_channels + extra` channels; the new input weights
    are `init` (0.0: the widened network computes exactly what the original did)."""
    if extra < 1:
        raise ValueError("extra must be >= 1")
    widened = copy.deepcopy(cnn)
    parent, attr, conv = _first_conv(widened, in_channels)
    new = nn.Conv2d(in_channels + extra, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    conv.dilation, 1, conv.bias is not None, conv.padding_mode)
    with torch.no_grad():
        new.weight.fill_(init)
        new.weight[:, :in_channels] = conv.weight
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    new.to(conv.weight.device, conv.weight.dtype)
    setattr(parent, attr, new)
    return widened


class InteractiveCNN(ClickNetwork):
    """A widened CNN behind the ClickNetwork interface ("fbrs" family: no prev mask, rows (y, x)).

    `foreground(out)` maps the CNN's output (tensor or dict with "out") to foreground logits (B, 1, h, w).
    """

    family = "fbrs"
    with_prev_mask = False
    brs_insertion_points: dict[str, str] = {}

    def __init__(self, widened: nn.Module, foreground: Callable[[torch.Tensor], torch.Tensor],
                 mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.cnn = widened
        self.foreground = foreground
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    def prepare_input(self, image: torch.Tensor) -> tuple[torch.Tensor, None]:
        """(B, 3, H, W) RGB in [0, 1] → normalised image, no prev mask."""
        return (image[:, :3] - self.mean) / self.std, None

    def get_coord_features(self, image: torch.Tensor, prev_mask: torch.Tensor | None,
                           points: torch.Tensor) -> torch.Tensor:
        """BRS interaction maps (B, 2, H, W)."""
        return interaction_maps(points, image.shape[2], image.shape[3])

    def backbone_forward(self, image: torch.Tensor, coord_features: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.cnn(torch.cat([image, coord_features], dim=1))
        if isinstance(out, dict):
            out = out["out"]
        return {"instances": self.foreground(out)}


def _foreground(class_index: int | None) -> Callable[[torch.Tensor], torch.Tensor]:
    def pick(out: torch.Tensor) -> torch.Tensor:
        if out.shape[1] == 1:
            return out
        if class_index is None:
            raise ValueError(f"the CNN outputs {out.shape[1]} classes: pass class_index")
        others = torch.cat([out[:, :class_index], out[:, class_index + 1:]], dim=1)
        return out[:, class_index:class_index + 1] - torch.logsumexp(others, dim=1, keepdim=True)
    return pick


def convert_to_interactive(cnn: nn.Module, class_index: int | None = None,
                           mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225),
                           map_weight_init: float = 0.0) -> InteractiveCNN:
    """Make `cnn` ((B, 3, H, W) normalised image → logits (B, K, h, w), or {"out": ...}) interactive.

    K = 1: the channel is the foreground logit; K > 1: foreground = class `class_index` against the others
    (logit − logsumexp of the rest). The original `cnn` is not modified. Use the result with
    `SegmentationSession(net, image, mode="rgb-brs")` (see the module docstring for why not "distmap-brs"
    with zero-initialised map weights).
    """
    widened = widen_first_conv(cnn, extra=2, init=map_weight_init).eval()
    for param in widened.parameters():
        param.requires_grad_(False)
    return InteractiveCNN(widened, _foreground(class_index), mean, std)
