"""Binary masks <-> COCO RLE, COCO segmentations (RLE or polygons) to masks, and parsing of the mask
payloads the API accepts.

Masks are numpy bool arrays of shape (H, W) (row = y, column = x). RLE follows COCO / pycocotools:
`{"size": [H, W], "counts": <str>}` for compressed RLE, column-major (Fortran) run lengths; the
uncompressed form has `counts` as a list of ints (first run = zeros).

Untrusted payloads never reach pycocotools' string decoder: compressed counts are decoded here
(`_string_run_chunks`, a chunk at a time) and must be runs of non-negative length that cover exactly H x W pixels; the declared
size is compared with the image before anything is allocated at that size; a PNG mask's header must state
the image's size before a pixel is inflated, and only its critical chunks are read. So decoding a payload
costs memory proportional to the image's pixel count (plus the payload itself), whatever it claims.
"""
from __future__ import annotations

import base64
import binascii
import io
import math
import struct
import zlib
from typing import Any, Iterator

import numpy as np
from PIL import Image as PILImage
from PIL import PngImagePlugin
from pycocotools import mask as coco_mask

from labeling.errors import ClickLabelError

MAX_PNG_BYTES = 32 * 1024 * 1024
# A vertex may lie this many pixels outside the image: pixel-corner coordinates reach W and H exactly, and
# tools round outlines outwards; anything further is refused before pycocotools rasterises it.
POLYGON_TOLERANCE = 1.0
DEFAULT_MAX_POLYGONS = 10_000
# Characters of one compressed count: 6 x 5 bits hold any run of an image up to 2^29 pixels.
_MAX_COUNT_CHARS = 6
_CHUNK = 1 << 16  # counts decoded per step
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEPT_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"})


class InvalidMask(ClickLabelError):
    """A mask payload that cannot be decoded or does not fit the image (HTTP 400)."""

    status = 400
    code = "invalid_mask"


def mask_to_rle(mask: np.ndarray) -> dict:
    """Encode a bool (H, W) mask as compressed COCO RLE `{"size": [H, W], "counts": str}`."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise InvalidMask(f"mask must be 2-D (H, W), got shape {arr.shape}")
    encoded = coco_mask.encode(np.asfortranarray(arr.astype(np.uint8)))
    counts = encoded["counts"]
    return {"size": [int(encoded["size"][0]), int(encoded["size"][1])],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def _size_mismatch(size: tuple[int, int], height: int, width: int) -> InvalidMask:
    return InvalidMask(f"mask is {size[1]}x{size[0]} (WxH), image is {width}x{height}",
                       details={"mask_size": [int(size[0]), int(size[1])], "image_size": [height, width]})


def rle_size(rle: Any) -> tuple[int, int]:
    """The `(H, W)` an RLE dict declares, checked to be two positive ints; nothing is decoded."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise InvalidMask('RLE must be an object with "size" and "counts"')
    size = rle["size"]
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise InvalidMask('RLE "size" must be [height, width] with positive integers')
    return int(size[0]), int(size[1])


def _string_values(raw: np.ndarray) -> np.ndarray:
    """The signed numbers of a compressed counts segment (groups = characters - 48, ending on a number)."""
    last = (raw & 0x20) == 0
    ends = np.flatnonzero(last)
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts + 1
    if lengths.size and int(lengths.max()) > _MAX_COUNT_CHARS:
        raise InvalidMask(f"a compressed RLE count takes more than {_MAX_COUNT_CHARS} characters")
    values = np.zeros(ends.size, dtype=np.int64)
    for k in range(_MAX_COUNT_CHARS):
        has = lengths > k
        if not has.any():
            break
        values[has] |= (raw[starts[has] + k].astype(np.int64) & 0x1F) << (5 * k)
    negative = (raw[ends] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * lengths[negative])
    return values


def _string_run_chunks(counts: str, *, max_runs: int) -> Iterator[np.ndarray]:
    """Decode a COCO compressed counts string into int64 run lengths, `_CHUNK` characters at a time.

    The format (pycocotools' `rleToString`): each count minus the count two before it (from the fourth count
    on), written in 5-bit groups, least significant first, as characters 48 + group; bit 0x20 of a group
    says another group follows, bit 0x10 of the last group is the sign. Raises InvalidMask on a character
    outside '0'..'o', a number cut short or longer than 6 characters, or a string longer than `max_runs`
    numbers could need; memory is the string plus a constant per chunk.
    """
    if not isinstance(counts, str) or not counts.isascii():
        raise InvalidMask("compressed RLE counts must be ASCII characters '0'..'o'")
    if len(counts) > _MAX_COUNT_CHARS * max_runs:
        raise InvalidMask(f"compressed RLE counts are {len(counts):,} characters, more than a mask of this "
                          "size can need")
    raw = np.frombuffer(counts.encode("ascii"), dtype=np.uint8)
    if raw.size and (int(raw.min()) < 48 or int(raw.max()) > 48 + 63):
        raise InvalidMask("compressed RLE counts must be ASCII characters '0'..'o'")
    if raw.size and (int(raw[-1]) - 48) & 0x20:
        raise InvalidMask("compressed RLE counts end in the middle of a number")
    index, odd_sum, even_sum, pos = 0, 0, 0, 0
    while pos < raw.size:
        segment = raw[pos:pos + _CHUNK] - np.uint8(48)
        if pos + segment.size < raw.size:  # cut after the segment's last complete number
            complete = np.flatnonzero((segment & 0x20) == 0)
            if complete.size == 0:
                raise InvalidMask(f"a compressed RLE count takes more than {_MAX_COUNT_CHARS} characters")
            segment = segment[:complete[-1] + 1]
        pos += segment.size
        values = _string_values(segment)
        positions = np.arange(index, index + values.size)
        odd = positions % 2 == 1
        even_chain = (positions % 2 == 0) & (positions >= 2)
        # count[i] = value[i] + count[i - 2] for i > 2: running sums over each parity (index 0 stands alone)
        if odd.any():
            sums = np.cumsum(values[odd]) + odd_sum
            values[odd], odd_sum = sums, int(sums[-1])
        if even_chain.any():
            sums = np.cumsum(values[even_chain]) + even_sum
            values[even_chain], even_sum = sums, int(sums[-1])
        index += values.size
        yield values


def _list_run_chunks(counts: list, *, max_runs: int) -> Iterator[np.ndarray]:
    """Uncompressed counts (a list of non-negative ints) as int64 arrays, `_CHUNK` at a time."""
    if len(counts) > max_runs:
        raise InvalidMask(f"uncompressed RLE has {len(counts):,} runs, more than the pixels it can cover")
    for start in range(0, len(counts), _CHUNK):
        part = counts[start:start + _CHUNK]
        if not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c < 2 ** 62 for c in part):
            raise InvalidMask("uncompressed RLE counts must be non-negative integers")
        yield np.asarray(part, dtype=np.int64)


def _run_chunks(rle: Any, height: int, width: int) -> Iterator[np.ndarray]:
    """Run lengths of an RLE of size (height, width), checked: never negative, summing to H x W exactly
    (checked as they come: decoding stops as soon as they pass H x W)."""
    pixels = height * width
    counts = rle["counts"]
    if isinstance(counts, str):
        chunks = _string_run_chunks(counts, max_runs=pixels + 1)
    elif isinstance(counts, list):
        chunks = _list_run_chunks(counts, max_runs=pixels + 1)
    else:
        raise InvalidMask('RLE "counts" must be a string (compressed) or a list of ints (uncompressed)')
    total = 0
    for runs in chunks:
        if runs.size and int(runs.min()) < 0:
            raise InvalidMask("RLE counts must not be negative")
        total += int(runs.sum())
        if total > pixels:
            raise InvalidMask(f"RLE counts cover more than the {pixels:,} pixels of the {width}x{height} mask",
                              details={"pixels": pixels})
        yield runs
    if total != pixels:
        raise InvalidMask(f"RLE counts cover {total:,} pixels, the {width}x{height} mask has {pixels:,}",
                          details={"covered": total, "pixels": pixels})


def rle_to_mask(rle: dict, *, height: int | None = None, width: int | None = None) -> np.ndarray:
    """Decode compressed or uncompressed COCO RLE to a bool (H, W) mask.

    With `height` and `width` (the image's size) the declared size must equal them, checked before any
    decoding. Raises InvalidMask when the counts are malformed or do not cover exactly H x W pixels. Memory:
    about two bytes per pixel plus the counts themselves.
    """
    size = rle_size(rle)
    if height is not None and width is not None and size != (height, width):
        raise _size_mismatch(size, height, width)
    h, w = size
    flat = np.empty(h * w, dtype=bool)
    pos, index = 0, 0
    for runs in _run_chunks(rle, h, w):
        covered = int(runs.sum())
        flat[pos:pos + covered] = np.repeat((np.arange(index, index + runs.size) % 2) == 1, runs)
        pos, index = pos + covered, index + runs.size
    return flat.reshape((w, h)).T  # column-major runs: an F-ordered (H, W) view, no copy


def _coco_object(rle: dict) -> dict:
    """The pycocotools form of a validated RLE (compressed counts as bytes)."""
    h, w = rle_size(rle)
    runs = np.concatenate([np.zeros(0, np.int64), *_run_chunks(rle, h, w)])
    counts = rle["counts"]
    if isinstance(counts, str):
        return {"size": [h, w], "counts": counts.encode("ascii")}
    return coco_mask.frPyObjects({"size": [h, w], "counts": [int(c) for c in runs]}, h, w)


def rle_area(rle: dict) -> int:
    """Number of foreground pixels of an RLE mask (runs alternate background, foreground, ...)."""
    h, w = rle_size(rle)
    area, index = 0, 0
    for runs in _run_chunks(rle, h, w):
        area += int(runs[(1 - index % 2)::2].sum())
        index += runs.size
    return area


def rle_bbox(rle: dict) -> list[int]:
    """COCO bbox `[x, y, width, height]` (ints, image pixels) of an RLE mask; zeros if empty."""
    x, y, w, h = coco_mask.toBbox(_coco_object(rle)).tolist()
    return [int(round(x)), int(round(y)), int(round(w)), int(round(h))]


def polygons_check(segmentation: Any, *, height: int, width: int,
                   max_polygons: int = DEFAULT_MAX_POLYGONS) -> list[list[float]]:
    """Validate COCO polygons (flat `[x0, y0, x1, y1, ...]` lists, pixel-corner coordinates) for an image of
    height x width and return them as floats.

    Each needs at least 3 finite (x, y) pairs, every vertex within `POLYGON_TOLERANCE` pixels of the image,
    at most `max_polygons` polygons, and outlines no longer than `polygon_outline_limit` pixels together
    (pycocotools' rasteriser allocates about 50 bytes per outline pixel); so rasterising them costs memory
    bounded by the image's size.
    """
    if not isinstance(segmentation, list) or not segmentation:
        raise InvalidMask("segmentation must be an RLE object or a non-empty list of polygons.")
    if len(segmentation) > max_polygons:
        raise InvalidMask(f"{len(segmentation):,} polygons in one segmentation, more than the limit of "
                          f"{max_polygons:,}.")
    low_x, low_y = -POLYGON_TOLERANCE, -POLYGON_TOLERANCE
    high_x, high_y = width + POLYGON_TOLERANCE, height + POLYGON_TOLERANCE
    polygons = []
    for polygon in segmentation:
        ok = (isinstance(polygon, list) and len(polygon) >= 6 and len(polygon) % 2 == 0
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                      for v in polygon))
        if not ok:
            raise InvalidMask("each polygon must be a flat list of at least 3 (x, y) number pairs.")
        xs, ys = polygon[0::2], polygon[1::2]
        if min(xs) < low_x or max(xs) > high_x or min(ys) < low_y or max(ys) > high_y:
            raise InvalidMask(f"a polygon reaches ({min(xs):g}..{max(xs):g}, {min(ys):g}..{max(ys):g}), outside "
                              f"the {width}x{height} image.")
        polygons.append([float(v) for v in polygon])
    outline = sum(_outline_length(p) for p in polygons)
    limit = polygon_outline_limit(height, width)
    if outline > limit:
        raise InvalidMask(f"the polygons' outlines are {outline:,.0f} pixels long, more than the limit of {limit:,} "
                          f"for a {width}x{height} image.")
    return polygons


def polygon_outline_limit(height: int, width: int) -> int:
    """Longest total outline (sum over edges of max(|dx|, |dy|), pixels) accepted for an image of this size:
    an eighth of its pixels plus 64 times its height and width (far more than any real outline)."""
    return height * width // 8 + 64 * (height + width)


def _outline_length(polygon: list[float]) -> float:
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    steps = np.abs(np.diff(np.vstack([points, points[:1]]), axis=0))
    return float(steps.max(axis=1).sum())


def segmentation_to_mask(segmentation: Any, *, height: int, width: int,
                         max_polygons: int = DEFAULT_MAX_POLYGONS) -> np.ndarray:
    """Decode a COCO segmentation (RLE dict whose size must be (height, width), or a list of polygons, see
    `polygons_check`, merged) to a bool (height, width) mask; raises InvalidMask."""
    if isinstance(segmentation, dict):
        return rle_to_mask(segmentation, height=height, width=width)
    polygons = polygons_check(segmentation, height=height, width=width, max_polygons=max_polygons)
    rles = coco_mask.frPyObjects(polygons, height, width)
    return coco_mask.decode(coco_mask.merge(rles)).astype(bool)


def _png_byte_budget(height: int, width: int) -> int:
    """Most bytes a PNG of the image's size may take: 8 bytes a pixel (16-bit RGBA) plus framing."""
    return min(MAX_PNG_BYTES, 9 * height * width + 65536)


def _png_critical_chunks(raw: bytes, height: int, width: int) -> bytes:
    """Check the PNG signature and that IHDR declares width x height, then return the file with its critical
    chunks only (IHDR, PLTE, tRNS, IDAT, IEND): ancillary chunks (text, ICC profiles, animation frames)
    are never inflated."""
    if not raw.startswith(_PNG_SIGNATURE):
        raise InvalidMask("expected a PNG (the data does not start with the PNG signature)")
    kept, pos = [_PNG_SIGNATURE], len(_PNG_SIGNATURE)
    first = True
    while True:
        if pos + 12 > len(raw):
            raise InvalidMask("cannot decode PNG mask: the file is truncated")
        length, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        end = pos + 12 + length
        if end > len(raw):
            raise InvalidMask("cannot decode PNG mask: a chunk runs past the end of the file")
        if first:
            if kind != b"IHDR" or length != 13:
                raise InvalidMask("cannot decode PNG mask: the first chunk is not IHDR")
            png_width, png_height = struct.unpack(">II", raw[pos + 8:pos + 16])
            if (png_height, png_width) != (height, width):
                raise _size_mismatch((png_height, png_width), height, width)
            first = False
        if kind in _PNG_KEPT_CHUNKS:
            kept.append(raw[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(kept)


def _png_to_mask(data: Any, height: int, width: int) -> np.ndarray:
    if not isinstance(data, str):
        raise InvalidMask('"png" must be a base64 string')
    if data.startswith("data:"):
        data = data.split(",", 1)[-1]
    budget = _png_byte_budget(height, width)
    if len(data) > budget * 4 // 3 + 4:
        raise InvalidMask(f"PNG mask too large for a {width}x{height} image")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidMask(f"invalid base64 in png: {exc}") from exc
    clean = _png_critical_chunks(raw, height, width)
    try:
        # PngImageFile directly: Image.open's decompression-bomb check reads a process-wide limit; ours is
        # per call: the header was just checked to state exactly the image's size.
        img = PngImagePlugin.PngImageFile(io.BytesIO(clean))
        with img:
            if img.size != (width, height):
                raise _size_mismatch((img.size[1], img.size[0]), height, width)
            arr = np.asarray(img.convert("L"))
    except InvalidMask:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, PILImage.DecompressionBombError,
            MemoryError) as exc:
        raise InvalidMask(f"cannot decode PNG mask: {exc}") from exc
    return arr >= 128


def parse_mask_payload(payload: Any, height: int, width: int) -> np.ndarray:
    """Decode an API mask payload into a bool (H, W) mask that must match the image size (height, width).

    Accepted forms: compressed RLE (`counts` str), uncompressed RLE (`counts` list of ints,
    column-major as COCO), or `{"png": base64}` (grey or RGB PNG, pixel >= 128 is foreground).
    The declared size is checked against the image before anything is decoded. Raises InvalidMask (400)
    on anything else or on a size mismatch (`details`: mask_size, image_size as [H, W]).
    """
    if not isinstance(payload, dict):
        raise InvalidMask("mask must be an object (RLE or {\"png\": base64})")
    if "png" in payload:
        return _png_to_mask(payload["png"], height, width)
    if "counts" in payload:
        return rle_to_mask(payload, height=height, width=width)
    raise InvalidMask('mask must carry "counts" (RLE) or "png"')
