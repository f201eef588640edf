"""f-BRS ``DistMapsModel``: DeepLabV3+ (ResNet-34/50/101) with distance maps, DMF block and SepConv
instance head. Registered as ``fbrs_deeplab``; key layout identical to the f-BRS repository checkpoints."""
from __future__ import annotations

from .deeplab_model import DeepLabClickMixin, make_deeplab_parts
from .fbrs_base import FBRSClickNetwork
from .registry import register


@register("fbrs_deeplab")
class FBRSDeepLabModel(DeepLabClickMixin, FBRSClickNetwork):
    """f-BRS DeepLabV3+ click network (resnet34_dh128: backbone "resnet34", deeplab_ch 128, dropout 0.2)."""

    registry_name = "fbrs_deeplab"

    def __init__(self, backbone: str = "resnet50", deeplab_ch: int = 256, aspp_dropout: float = 0.5,
                 use_rgb_conv: bool = True, norm_radius: float = 260) -> None:
        super().__init__(use_rgb_conv=use_rgb_conv, norm_radius=norm_radius)
        self._config_params = dict(backbone=backbone, deeplab_ch=deeplab_ch, aspp_dropout=aspp_dropout,
                                   use_rgb_conv=use_rgb_conv, norm_radius=norm_radius)
        self.feature_extractor, self.head = make_deeplab_parts(backbone, deeplab_ch, aspp_dropout)
