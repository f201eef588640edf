"""Hypothesis strategies for the untrusted inputs of the labelling app: mask payloads (compressed / list RLE,
PNG), COCO import files, uploaded files (images, zips); valid ones, mutated ones and nonsense, mixed.

Used by test_fuzz_parsers.py (pytest -m fuzz) and parser_figures.py (the figures of docs/reliability.md).
"""
from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image as PILImage

from mask_payloads import png_chunk, rle_string
from upload_helpers import directory_only_zip

COUNT_CHARS = "".join(chr(c) for c in range(48, 48 + 64))
MB = 1024 * 1024

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def masks(max_side: int = 20) -> st.SearchStrategy[np.ndarray]:
    """bool (H, W) masks, 1..max_side on each side."""
    shapes = st.tuples(st.integers(1, max_side), st.integers(1, max_side))
    return shapes.flatmap(lambda shape: hnp.arrays(bool, shape))


def runs_of(mask: np.ndarray) -> list[int]:
    """Column-major run lengths of a mask, first run = zeros (COCO's uncompressed counts)."""
    flat = mask.flatten(order="F").astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flat, [1 - flat[-1] if flat.size else 0]))))
    runs = np.diff(np.concatenate(([0], edges, [flat.size])))
    return [int(r) for r in runs[: len(runs) - (runs[-1] == 0)]] or [0]


@st.composite
def mutated(draw, data):
    """`data` (str or bytes) with a few characters/bytes replaced, inserted, deleted or cut."""
    out = bytearray(data.encode("latin-1") if isinstance(data, str) else data)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if not out and action != "insert":
            continue
        where = draw(st.integers(0, max(len(out) - 1, 0)))
        if action == "flip":
            out[where] = draw(st.integers(0, 255))
        elif action == "insert":
            out[where:where] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete":
            del out[where]
        else:
            del out[where:]
    return out.decode("latin-1") if isinstance(data, str) else bytes(out)


@st.composite
def rle_payloads(draw, height: int, width: int):
    """An RLE payload meant for an image of height x width: exact, mutated, or nonsense."""
    kind = draw(st.sampled_from(["exact", "exact-list", "mutated", "alphabet", "text", "list", "size", "json"]))
    size = [height, width]
    if kind in ("exact", "exact-list", "mutated"):
        mask = draw(hnp.arrays(bool, (height, width)))
        runs = runs_of(mask)
        counts = runs if kind == "exact-list" else rle_string(runs)
        if kind == "mutated":
            counts = draw(mutated(counts))
        return {"size": size, "counts": counts}
    if kind == "alphabet":
        return {"size": size, "counts": draw(st.text(alphabet=COUNT_CHARS, max_size=40))}
    if kind == "text":
        return {"size": size, "counts": draw(st.text(max_size=20))}
    if kind == "list":
        return {"size": size, "counts": draw(st.lists(st.one_of(st.integers(-5, height * width + 5),
                                                                st.integers(-2 ** 70, 2 ** 70), json_scalars),
                                                      max_size=12))}
    if kind == "size":
        declared = draw(st.one_of(st.lists(st.integers(-3, 70_000), min_size=2, max_size=2),
                                  st.lists(json_scalars, max_size=3), json_scalars))
        return {"size": declared, "counts": draw(st.sampled_from(["03", "", [1, 2], [height * width]]))}
    return draw(st.one_of(json_values, st.dictionaries(st.sampled_from(["size", "counts", "png"]), json_values)))


def _png_bytes(mask: np.ndarray, mode: str) -> bytes:
    grey = mask.astype(np.uint8) * 255
    img = PILImage.fromarray(grey, mode="L")
    if mode == "1":
        img = img.convert("1")
    elif mode in ("RGB", "RGBA", "LA", "P"):
        img = img.convert(mode)
    elif mode == "I;16":
        img = PILImage.fromarray(grey.astype(np.uint16) * 257)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@st.composite
def png_payloads(draw, height: int, width: int):
    """A `{"png": base64}` payload for an image of height x width: exact (any mode), other sizes (headers
    declaring up to 60000 x 60000), mutated bytes, nonsense."""
    kind = draw(st.sampled_from(["exact", "exact", "mutated", "other-size", "header", "base64", "json"]))
    if kind in ("exact", "mutated"):
        mask = draw(hnp.arrays(bool, (height, width)))
        data = _png_bytes(mask, draw(st.sampled_from(["L", "1", "RGB", "RGBA", "LA", "P", "I;16"])))
        if kind == "mutated":
            data = draw(mutated(data))
    elif kind == "other-size":
        data = _png_bytes(np.zeros((draw(st.integers(1, 40)), draw(st.integers(1, 40))), bool), "L")
    elif kind == "header":  # a header declaring any size, then a tiny zlib stream (a decompression bomb)
        declared = struct.pack(">IIBBBBB", draw(st.sampled_from([width, draw(st.integers(1, 2 ** 31 - 1))])),
                               draw(st.sampled_from([height, draw(st.integers(1, 2 ** 31 - 1))])),
                               draw(st.sampled_from([1, 8, 16])), draw(st.sampled_from([0, 2, 3, 4, 6])), 0, 0, 0)
        data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", declared)
                + png_chunk(b"IDAT", zlib.compress(b"\x00" * draw(st.integers(0, 4096)))) + png_chunk(b"IEND", b""))
    elif kind == "base64":
        return {"png": draw(st.one_of(st.text(max_size=40), st.just("data:image/png;base64,"), json_scalars))}
    else:
        return {"png": draw(json_values)}
    encoded = base64.b64encode(data).decode()
    return {"png": ("data:image/png;base64," + encoded) if draw(st.booleans()) else encoded}


def _image_file(fmt: str, width: int, height: int, mode: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    img = PILImage.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)
    if fmt == "JPEG" and mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@st.composite
def image_uploads(draw):
    """Bytes of an uploaded "image": a small valid file of any supported format and mode, mutated, or junk."""
    kind = draw(st.sampled_from(["valid", "mutated", "mutated", "junk"]))
    if kind == "junk":
        return draw(st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"<svg>", b"\x89PNG\r\n\x1a\n"])))
    fmt = draw(st.sampled_from(["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"]))
    mode = draw(st.sampled_from(["RGB", "L", "RGBA", "P", "CMYK", "1"]))
    if fmt in ("GIF",) and mode in ("CMYK", "RGBA"):
        mode = "RGB"
    if fmt in ("WEBP", "PNG", "GIF", "BMP") and mode == "CMYK":
        mode = "RGB"
    data = _image_file(fmt, draw(st.integers(1, 24)), draw(st.integers(1, 24)), mode, draw(st.integers(0, 9)))
    return data if kind == "valid" else draw(mutated(data))


@st.composite
def zip_uploads(draw):
    """Bytes of an uploaded zip: members (images, junk, unsafe names), mutated, or crafted end records."""
    kind = draw(st.sampled_from(["members", "members", "mutated", "directory"]))
    if kind == "directory":
        return directory_only_zip(draw(st.integers(0, 40)), declared=draw(st.one_of(st.none(), st.integers(0, 2 ** 16))),
                                  zip64=draw(st.booleans()))
    members = draw(st.lists(st.tuples(
        st.one_of(st.sampled_from(["a.png", "d/b.jpg", "../x.png", "/abs.png", "__MACOSX/._a.png", "n.zip", "c:x.png"]),
                  st.text(min_size=1, max_size=10).filter(lambda name: "\x00" not in name)),
        st.one_of(image_uploads(), st.binary(max_size=32))), max_size=4))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))) as zf:
        for name, data in members:
            zf.writestr(name, data)
    data = buf.getvalue()
    return draw(mutated(data)) if kind == "mutated" else data


ID_VALUES = st.one_of(st.integers(-3, 5), st.text(max_size=3), st.booleans(), st.floats(allow_nan=False),
                      st.lists(st.integers(0, 3), max_size=2), st.none())


@st.composite
def coco_files(draw, file_names: list[str], width: int, height: int):
    """A COCO dict aimed at a project whose images have these names and size: mostly well-formed, with
    wrong ids, sizes, segmentations (polygons anywhere, RLE exact or mutated) and structure mixed in."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    good_id = st.integers(1, 3)
    ids = st.one_of(*[good_id] * 12, ID_VALUES)  # mostly usable ids, so that imports also get far
    images = draw(st.lists(st.fixed_dictionaries(
        {"id": ids, "file_name": st.one_of(st.sampled_from(file_names), st.text(max_size=6), json_scalars),
         "width": st.one_of(st.just(width), st.integers(0, 50), json_scalars),
         "height": st.one_of(st.just(height), st.integers(0, 50), json_scalars)}), max_size=3))
    categories = draw(st.lists(st.fixed_dictionaries(
        {"id": ids, "name": st.one_of(st.sampled_from(["cat", "CAT", "dog", "horse"]), json_scalars)}), max_size=3))
    coordinate = st.one_of(st.floats(-2, max(width, height) + 2, allow_nan=False),
                           st.floats(allow_nan=True, allow_infinity=True), st.integers(-10 ** 7, 10 ** 7))
    polygon = st.lists(coordinate, min_size=0, max_size=14)
    segmentation = st.one_of(
        st.lists(polygon, max_size=3),
        rle_payloads(height, width),
        st.just({"size": [height, width], "counts": rle_string([0, height * width])}),
        json_values)
    annotations = draw(st.lists(st.fixed_dictionaries(
        {"id": ids, "image_id": ids, "category_id": ids, "segmentation": segmentation}), max_size=5))
    coco = {"images": images, "categories": categories, "annotations": annotations}
    if draw(st.integers(0, 9)) == 0:
        coco[draw(st.sampled_from(list(coco)))] = draw(json_values)
    return coco
