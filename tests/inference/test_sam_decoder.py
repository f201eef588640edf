"""SAM port behaviour: preprocessing and the export's mask choice (no weights needed), gradients through the
decoder's f-BRS insertion points and through the encoder (installed weights)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.networks.sam import ChannelAffine, SamEmbedding, load_sam, sam_preprocess, select_mask, upscale_logits
from inference.networks.sam.preprocess import PIXEL_MEAN, PIXEL_STD, pad_points, resized_size
from inference.networks.sam.weights import DEFAULT_WEIGHTS_DIR, INSTALL_COMMAND, weights_installed

_weights_missing = pytest.mark.skipif(not weights_installed(DEFAULT_WEIGHTS_DIR, check_hash=False),
                                     reason=f"SAM weights not installed: run `{INSTALL_COMMAND}`")


def needs_weights(test):
    """Loads the real model (a second or two per module, seconds per gradient test): skipped without the
    weights, and marked slow."""
    return pytest.mark.slow(_weights_missing(test))


# --- preprocessing and post-processing (no weights) ---

@pytest.mark.parametrize("hw, resized", [((300, 500), (614, 1024)), ((500, 300), (1024, 614))])
def test_preprocess_scales_longest_side_normalises_and_pads_bottom_right(hw, resized):
    image = np.full((*hw, 3), (200, 100, 50), dtype=np.uint8)
    tensor, scale = sam_preprocess(image)
    assert tensor.shape == (1, 3, 1024, 1024) and tensor.dtype == torch.float32
    assert scale == pytest.approx(1024 / 500)
    new_h, new_w = resized_size(*hw)
    assert (new_h, new_w) == resized  # round(300 · 2.048) = round(614.4)
    expected = [(v - m) / s for v, m, s in zip((200, 100, 50), PIXEL_MEAN, PIXEL_STD)]
    inside = tensor[0, :, :new_h, :new_w]
    for c in range(3):
        assert torch.allclose(inside[c], torch.tensor(expected[c]), atol=1e-5)
    assert tensor[0, :, new_h:, :].abs().sum() == 0 and tensor[0, :, :, new_w:].abs().sum() == 0
    assert tensor[0, :, new_h - 1, new_w - 1].abs().sum() > 0


def test_preprocess_rejects_non_uint8_rgb():
    with pytest.raises(ValueError):
        sam_preprocess(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError):
        sam_preprocess(np.zeros((10, 10), np.uint8))


def test_pad_points_appends_origin_with_label_minus_one():
    points, labels = pad_points(torch.tensor([[[3.0, 4.0]]]), torch.tensor([[1.0]]))
    assert points.tolist() == [[[3.0, 4.0], [0.0, 0.0]]] and labels.tolist() == [[1.0, -1.0]]


def test_upscale_logits_crops_padding_and_keeps_orientation():
    """A low-res map that is +1 on the image's left half (x < 128 of 256 · 481/481) and −1 elsewhere, for a
    wide image: the result is positive on the left half of the original and the padding rows are gone."""
    height, width = 321, 481
    low = -torch.ones(1, 1, 256, 256)
    low[..., :, :128] = 1.0
    low[..., 200:, :] = 5.0  # below the image content (content rows end at 256 · 321/481 ≈ 171)
    out = upscale_logits(low, (height, width))
    assert out.shape == (1, 1, height, width)
    assert out[0, 0, height // 2, : width // 2 - 2].gt(0).all() and out[0, 0, height // 2, width // 2 + 2:].lt(0).all()
    assert out.max() < 1.5  # the padded region (value 5) was cropped away


def test_select_mask_follows_the_export_rule():
    masks = torch.arange(4.0).view(1, 4, 1, 1).expand(1, 4, 2, 2)
    iou = torch.tensor([[0.99, 0.2, 0.9, 0.5]])
    one_click, one_iou = select_mask(masks, iou, num_points=2)  # one click + padding point
    assert one_click[0, 0, 0, 0] == 2 and one_iou.item() == pytest.approx(0.9)
    two_clicks, _ = select_mask(masks, iou, num_points=3)
    assert two_clicks[0, 0, 0, 0] == 0


def test_channel_affine_identity_is_a_no_op():
    x = torch.randn(2, 5, 3, 3)
    assert torch.equal(ChannelAffine.identity(5).apply(x), x)


# --- loaded model ---

@pytest.fixture(scope="module")
def sam():
    torch.set_num_threads(2)
    return load_sam(device="cpu")


@pytest.fixture(scope="module")
def embedded(sam) -> SamEmbedding:
    """A synthetic scene (bright disc on a textured background), embedded once."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 60, size=(240, 320, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:240, :320]
    image[(yy - 120) ** 2 + (xx - 160) ** 2 < 60 ** 2] = (230, 200, 40)
    return sam.embed(image)


@needs_weights
def test_embed_returns_the_embedding_and_geometry(embedded):
    assert embedded.embedding.shape == (1, 256, 64, 64) and not embedded.embedding.requires_grad
    assert embedded.orig_hw == (240, 320) and embedded.scale == pytest.approx(3.2)


@needs_weights
def test_click_on_disc_segments_disc(sam, embedded):
    with torch.no_grad():
        pred = sam.predict(embedded, [[160, 120]], [1])
    fg = pred.masks[0, 0] > 0
    yy, xx = torch.meshgrid(torch.arange(240), torch.arange(320), indexing="ij")
    disc = (yy - 120) ** 2 + (xx - 160) ** 2 < 60 ** 2
    assert (fg & disc).sum() / (fg | disc).sum() > 0.9


@needs_weights
def test_identity_affines_and_split_decoder_match_plain_forward(sam, embedded):
    points = torch.tensor([[[160.0, 120.0], [20.0, 20.0]]]) * embedded.scale
    labels = torch.tensor([[1.0, 0.0]])
    with torch.no_grad():
        masks, iou = sam.decoder(embedded.embedding, points, labels)
        masks_aff, iou_aff = sam.decoder(embedded.embedding, points, labels,
                                         embedding_affine=ChannelAffine.identity(256, requires_grad=False),
                                         upscaled_affine=ChannelAffine.identity(32, requires_grad=False))
        features = sam.decoder.features(embedded.embedding, points, labels)
    assert masks.shape == (1, 4, 256, 256) and iou.shape == (1, 4)
    assert torch.equal(masks, masks_aff) and torch.equal(iou, iou_aff)
    assert features.upscaled.shape == (1, 32, 256, 256) and features.hyper_in.shape == (1, 4, 32)
    assert features.image_tokens.shape == (1, 256, 64, 64)
    assert torch.equal(sam.decoder.mask_decoder.masks(features), masks)


@needs_weights
@pytest.mark.parametrize("insertion", ["embedding", "upscaled"])
def test_gradients_reach_scale_and_bias(sam, embedded, insertion):
    """A loss on the decoder's output gives finite, non-zero gradients on the per-channel scale / bias,
    and a few Adam steps on them move a negatively clicked pixel towards background."""
    channels = 256 if insertion == "embedding" else 32
    affine = ChannelAffine.identity(channels)
    kwargs = {f"{insertion}_affine": affine}
    neg_xy = (160, 150)  # inside the disc, clicked as background
    clicks, labels = [[160, 110], list(neg_xy)], [1, 0]

    def negative_logit() -> torch.Tensor:
        pred = sam.predict(embedded, clicks, labels, **kwargs)
        return pred.masks[0, 0, neg_xy[1], neg_xy[0]]

    optimiser = torch.optim.Adam([affine.scale, affine.bias], lr=0.03)
    logits = []
    for step in range(4):
        optimiser.zero_grad()
        logit = negative_logit()
        logits.append(logit.item())
        torch.nn.functional.softplus(logit).backward()
        if step == 0:
            for grad in (affine.scale.grad, affine.bias.grad):
                assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
        optimiser.step()
    final = negative_logit().item()
    assert final < logits[0] - 0.5, logits
    assert not any(p.grad is not None for p in sam.parameters())  # the weights stay frozen


@needs_weights
def test_gradients_flow_through_the_encoder_to_the_image(sam):
    """BRS-style: d(mask logit)/d(input image) through TinyViT (at 256 px to keep it quick)."""
    image = torch.randn(1, 3, 256, 256, requires_grad=True)
    embedding = sam.encoder(image)
    assert embedding.shape == (1, 256, 16, 16)
    embedding.square().mean().backward()
    assert image.grad is not None and torch.isfinite(image.grad).all() and image.grad.abs().sum() > 0
