"""f-BRS ``DistMapsHRNetModel``: HRNetV2-OCR with distance maps and the DMF block. Registered as
``fbrs_hrnet``; key layout identical to the f-BRS repository checkpoints (raw state_dict)."""
from __future__ import annotations

from .fbrs_base import FBRSClickNetwork
from .hrnet import HighResolutionNet
from .hrnet_model import HRNetClickMixin
from .registry import register


@register("fbrs_hrnet")
class FBRSHRNetModel(HRNetClickMixin, FBRSClickNetwork):
    """f-BRS HRNet click network (hrnet18_ocr64: width 18, ocr_width 64; hrnet32_ocr128: 32 / 128)."""

    registry_name = "fbrs_hrnet"

    def __init__(self, width: int = 48, ocr_width: int = 256, small: bool = False, with_aux_output: bool = False,
                 use_rgb_conv: bool = True, norm_radius: float = 260) -> None:
        super().__init__(use_rgb_conv=use_rgb_conv, norm_radius=norm_radius)
        self._config_params = dict(width=width, ocr_width=ocr_width, small=small, with_aux_output=with_aux_output,
                                   use_rgb_conv=use_rgb_conv, norm_radius=norm_radius)
        self.with_aux_output = bool(with_aux_output)
        self.feature_extractor = HighResolutionNet(width=width, ocr_width=ocr_width, small=small, num_classes=1)
