"""RITM ``DeeplabModel``: DeepLabV3+ with RITM click encoding (Conv1S output zero-padded and added after
the ResNet stem). Registered as ``ritm_deeplab``; key layout identical to official RITM checkpoints."""
from __future__ import annotations

from typing import Sequence

from .deeplab_model import DeepLabClickMixin, make_deeplab_parts
from .ops import IMAGENET_MEAN, IMAGENET_STD
from .registry import register
from .ritm_base import RITMClickNetwork


@register("ritm_deeplab")
class RITMDeepLabModel(DeepLabClickMixin, RITMClickNetwork):
    """RITM DeepLab click network (R34 baseline: backbone "resnet34", deeplab_ch 128, aspp_dropout 0.2,
    ``use_rgb_conv=False, use_disks=True, norm_radius=5``)."""

    registry_name = "ritm_deeplab"

    def __init__(self, backbone: str = "resnet50", deeplab_ch: int = 256, aspp_dropout: float = 0.5,
                 with_prev_mask: bool = False, binary_prev_mask: bool = False, use_disks: bool = False,
                 norm_radius: float = 260, use_rgb_conv: bool = True, conv_extend: bool = False,
                 use_leaky_relu: bool = False,
                 norm_mean_std: Sequence[Sequence[float]] = (IMAGENET_MEAN, IMAGENET_STD)) -> None:
        super().__init__(with_prev_mask=with_prev_mask, binary_prev_mask=binary_prev_mask, use_disks=use_disks,
                         norm_radius=norm_radius, use_rgb_conv=use_rgb_conv, conv_extend=conv_extend,
                         use_leaky_relu=use_leaky_relu, norm_mean_std=norm_mean_std)
        self._config_params = dict(
            backbone=backbone, deeplab_ch=deeplab_ch, aspp_dropout=aspp_dropout, with_prev_mask=with_prev_mask,
            binary_prev_mask=binary_prev_mask, use_disks=use_disks, norm_radius=norm_radius,
            use_rgb_conv=use_rgb_conv, conv_extend=conv_extend, use_leaky_relu=use_leaky_relu,
            norm_mean_std=[list(v) for v in norm_mean_std])
        self.feature_extractor, self.head = make_deeplab_parts(backbone, deeplab_ch, aspp_dropout)
