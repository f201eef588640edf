"""A tiny real ClickNetwork for engine tests (fast on CPU; deterministic weights from a seed)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inference.networks.base import ClickNetwork
from inference.networks.ops import click_maps


class ToyClickNet(ClickNetwork):
    """RITM-style (disks, optional prev mask) or f-BRS-style (distance maps) toy network.

    Layout: concat(image, click maps) → conv3×3/2 (→8) ReLU [point "A"] → conv3×3 (8→8) ReLU [point "C"]
    → conv1×1 (8→1) logits at stride 2. A and B share point "A", like HRNet.
    """

    brs_insertion_points = {"A": "A", "B": "A", "C": "C"}

    def __init__(self, family: str = "ritm", with_prev_mask: bool = True, seed: int = 0) -> None:
        super().__init__()
        self.family = family
        self.with_prev_mask = with_prev_mask and family == "ritm"
        n_maps = 2 + (1 if self.with_prev_mask else 0)
        gen = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv2d(3 + n_maps, 8, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Conv2d(8, 1, 1)
        for module in (self.conv1, self.conv2, self.head):
            with torch.no_grad():
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
        self.eval()

    def prepare_input(self, image):
        if self.with_prev_mask:
            return image[:, :3] - 0.5, image[:, 3:]
        return image[:, :3] - 0.5, None

    def get_coord_features(self, image, prev_mask, points):
        maps = click_maps(points, image.shape[2], image.shape[3], 5 if self.family == "ritm" else 40,
                          use_disks=self.family == "ritm")
        return torch.cat([prev_mask, maps], 1) if prev_mask is not None else maps

    def forward_to_insertion(self, point, image, coord_features):
        x = F.relu(self.conv1(torch.cat([image, coord_features], 1)))
        if point == "C":
            x = F.relu(self.conv2(x))
        return x, None

    def forward_from_insertion(self, point, features, extras):
        x = features if point == "C" else F.relu(self.conv2(features))
        return self.head(x)

    def backbone_forward(self, image, coord_features):
        features, extras = self.forward_to_insertion("A", image, coord_features)
        return {"instances": self.forward_from_insertion("A", features, extras)}

    def insertion_channels(self, point):
        return 8
