"""A learnt boundary refiner: a small convolutional network at image resolution that corrects the returned map.

The click network predicts at 1/4 of its input; the guided filter (`inference.refine`) snaps its map to colour
edges but knows nothing of objects or clicks. `RefinerNet` sees, at full resolution, the image, the network's raw
map, the guided-filter map and the click disks, and predicts a residual that is added to the guided-filter logit.
Its last layer starts at zero, so an untrained refiner returns the guided-filter map exactly.

Input channels of `RefinerNet.forward` (B, 7, H, W), in this order (`refiner_inputs` builds them):
    0-2  image, ImageNet-normalised RGB;
    3    raw map as a logit / `LOGIT_SCALE` (clipped to ±`LOGIT_CLIP`);
    4    guided-filter map, the same encoding;
    5-6  positive / negative click disks of radius `DISK_RADIUS` image pixels (1 inside, 0 outside).
Output: (B, 1, H, W) refined logits. All maps are in image pixel order (row = y, column = x); clicks are (x, y).

Weights file: `{"state_dict", "config": {"class": "refiner", "params": {...}}, "meta"}` like the engine's models.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
import torch
from torch import nn

from inference.clicks import Click
from inference.networks.ops import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["RefinerNet", "LearntRefiner", "refiner_inputs", "load_refiner", "save_refiner", "LOGIT_CLIP",
           "LOGIT_SCALE", "DISK_RADIUS"]

LOGIT_CLIP = 8.0
LOGIT_SCALE = 4.0
DISK_RADIUS = 5


def _to_logit(probs: np.ndarray | torch.Tensor) -> torch.Tensor:
    """float (…, H, W) probabilities → clipped logits as float32 tensor."""
    p = torch.as_tensor(probs, dtype=torch.float32)
    eps = 1 / (1 + np.exp(LOGIT_CLIP))
    return torch.logit(p.clamp(eps, 1 - eps))


class RefinerNet(nn.Module):
    """Residual refiner: 3×3 stem, dilated residual 3×3 blocks, zero-initialised 1×1 head (see module doc).

    Args:
        width: channels of every hidden layer.
        dilations: one residual block per entry, with that dilation (receptive field grows by 2·d each).
    """

    in_channels = 7

    def __init__(self, width: int = 16, dilations: Sequence[int] = (1, 2, 4, 8, 1)) -> None:
        super().__init__()
        self.width, self.dilations = int(width), tuple(int(d) for d in dilations)
        self.stem = nn.Conv2d(self.in_channels, self.width, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv2d(self.width, self.width, 3, padding=d, dilation=d) for d in self.dilations)
        self.head = nn.Conv2d(self.width, 1, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.act = nn.ReLU(inplace=True)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's arguments, as saved in the weights file."""
        return {"class": "refiner", "params": {"width": self.width, "dilations": list(self.dilations)}}

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, 7, H, W) inputs → (B, 1, H, W) logits: guided-filter logit + learnt residual."""
        x = self.act(self.stem(inputs))
        for block in self.blocks:
            x = x + self.act(block(x))
        return inputs[:, 4:5] * LOGIT_SCALE + self.head(x)


def click_disks(clicks: Sequence[Click], shape: tuple[int, int], radius: int = DISK_RADIUS) -> np.ndarray:
    """float32 (2, H, W): positive and negative disks of `radius` around (x, y) clicks, in image pixels."""
    disks = np.zeros((2, *shape), dtype=np.float32)
    for click in clicks:
        centre = (int(round(click.x)), int(round(click.y)))
        cv2.circle(disks[0 if click.positive else 1], centre, radius, 1.0, thickness=-1)
    return disks


def normalise_image(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) RGB → float32 (3, H, W), ImageNet-normalised."""
    scaled = image.astype(np.float32) * np.float32(1 / 255)
    mean, std = np.asarray(IMAGENET_MEAN, dtype=np.float32), np.asarray(IMAGENET_STD, dtype=np.float32)
    return ((scaled - mean) / std).transpose(2, 0, 1)


def refiner_inputs(image_chw: np.ndarray | torch.Tensor, raw: np.ndarray, guided: np.ndarray,
                   clicks: Sequence[Click]) -> torch.Tensor:
    """The (1, 7, H, W) float32 input of `RefinerNet` (channel order in the module doc).

    Args:
        image_chw: float32 (3, H, W), `normalise_image` of the image.
        raw, guided: float (H, W) probabilities in [0, 1]: the network's map and its guided-filter refinement.
        clicks: the object's clicks, (x, y) image pixels.
    """
    shape = tuple(raw.shape)
    if tuple(guided.shape) != shape or tuple(image_chw.shape[1:]) != shape:
        raise ValueError(f"shapes differ: image {tuple(image_chw.shape)}, raw {shape}, guided {tuple(guided.shape)}")
    maps = torch.stack([_to_logit(raw), _to_logit(guided)]) / LOGIT_SCALE
    disks = torch.from_numpy(click_disks(clicks, shape))
    return torch.cat([torch.as_tensor(image_chw, dtype=torch.float32), maps, disks])[None]


class LearntRefiner:
    """A `RefinerNet` bound to one image (its normalised pixels computed once).

    Args:
        net: the refiner network (eval mode, on `device`).
        image: uint8 (H, W, 3) RGB.
    """

    def __init__(self, net: RefinerNet, image: np.ndarray) -> None:
        self.net = net
        self.device = next(net.parameters()).device
        self._image = torch.from_numpy(normalise_image(image))

    @property
    def nbytes(self) -> int:
        """Bytes held for the normalised image."""
        return self._image.numel() * 4

    def refine(self, raw: np.ndarray, guided: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
        """float32 (H, W) refined probabilities from the raw and guided-filter maps and the (x, y) clicks."""
        inputs = refiner_inputs(self._image, raw, guided, clicks).to(self.device)
        inputs = inputs.contiguous(memory_format=torch.channels_last)   # as the weights (`load_refiner`)
        with torch.no_grad():
            logits = self.net(inputs)
        return torch.sigmoid(logits)[0, 0].cpu().numpy().astype(np.float32, copy=False)


def save_refiner(net: RefinerNet, path: str | Path, meta: dict[str, Any] | None = None) -> None:
    """Write fp32 weights with their config (and `meta`) to `path`."""
    state = {k: v.detach().cpu().float() for k, v in net.state_dict().items()}
    torch.save({"state_dict": state, "config": net.config, "meta": meta or {}}, path)


_CACHE: dict[tuple[str, int, str], RefinerNet] = {}


def load_refiner(path: str | Path, device: str | torch.device = "cpu") -> RefinerNet:
    """A `RefinerNet` in eval mode from a weights file (`save_refiner`'s format); cached per file (path and
    modification time, so a retrained file is read again) and device.

    Raises:
        FileNotFoundError: no such file; ValueError: not a refiner weights file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"refiner weights not found: {path}")
    key = (str(path.resolve()), path.stat().st_mtime_ns, str(device))
    if key in _CACHE:
        return _CACHE[key]
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    config = checkpoint.get("config", {}) if isinstance(checkpoint, dict) else {}
    if config.get("class") != "refiner" or "state_dict" not in checkpoint:
        raise ValueError(f"{path} is not a refiner weights file (config class {config.get('class')!r})")
    net = RefinerNet(**config.get("params", {}))
    net.load_state_dict({k: v.float() for k, v in checkpoint["state_dict"].items()})
    net.eval().to(device).to(memory_format=torch.channels_last)   # faster 3×3 convolutions on the CPU
    _CACHE[key] = net
    return net
