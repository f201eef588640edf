"""RITM ``HRNetModel``: HRNetV2(+OCR) with RITM click encoding (disks, Conv1S, optional previous mask).
Registered as ``ritm_hrnet``; key layout identical to official RITM checkpoints."""
from __future__ import annotations

from typing import Sequence

from .hrnet import HighResolutionNet
from .hrnet_model import HRNetClickMixin
from .ops import IMAGENET_MEAN, IMAGENET_STD
from .registry import register
from .ritm_base import RITMClickNetwork


@register("ritm_hrnet")
class RITMHRNetModel(HRNetClickMixin, RITMClickNetwork):
    """RITM HRNet click network. Defaults are the reference class defaults; the released models use e.g.
    HRNet18s ITER-M: ``width=18, ocr_width=48, small=True, with_aux_output=True, use_leaky_relu=True,
    use_rgb_conv=False, use_disks=True, norm_radius=5, with_prev_mask=True``."""

    registry_name = "ritm_hrnet"

    def __init__(self, width: int = 48, ocr_width: int = 256, small: bool = False, with_aux_output: bool = False,
                 with_prev_mask: bool = False, binary_prev_mask: bool = False, use_disks: bool = False,
                 norm_radius: float = 260, use_rgb_conv: bool = True, conv_extend: bool = False,
                 use_leaky_relu: bool = False,
                 norm_mean_std: Sequence[Sequence[float]] = (IMAGENET_MEAN, IMAGENET_STD)) -> None:
        super().__init__(with_prev_mask=with_prev_mask, binary_prev_mask=binary_prev_mask, use_disks=use_disks,
                         norm_radius=norm_radius, use_rgb_conv=use_rgb_conv, conv_extend=conv_extend,
                         use_leaky_relu=use_leaky_relu, norm_mean_std=norm_mean_std)
        self._config_params = dict(
            width=width, ocr_width=ocr_width, small=small, with_aux_output=with_aux_output,
            with_prev_mask=with_prev_mask, binary_prev_mask=binary_prev_mask, use_disks=use_disks,
            norm_radius=norm_radius, use_rgb_conv=use_rgb_conv, conv_extend=conv_extend,
            use_leaky_relu=use_leaky_relu, norm_mean_std=[list(v) for v in norm_mean_std])
        self.with_aux_output = bool(with_aux_output)
        self.feature_extractor = HighResolutionNet(width=width, ocr_width=ocr_width, small=small, num_classes=1)
