"""Builders of mask payloads for the mask tests: compressed RLE strings from run lengths, hand-made PNGs."""
from __future__ import annotations

import base64
import struct
import zlib


def rle_string(counts: list[int]) -> str:
    """COCO's compressed RLE string of `counts` (column-major runs, first run = zeros), as pycocotools writes
    it: each count minus the count two before (from the third on), in 5-bit groups with a continuation bit."""
    out = []
    for index, count in enumerate(counts):
        value = count - counts[index - 2] if index > 2 else count
        more = True
        while more:
            chunk = value & 0x1F
            value >>= 5
            more = not ((value == 0 and not chunk & 0x10) or (value == -1 and chunk & 0x10))
            if more:
                chunk |= 0x20
            out.append(chr(chunk + 48))
    return "".join(out)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def grey_png(width: int, height: int, *, bit_depth: int = 1, extra_chunks: list[bytes] = ()) -> bytes:
    """A black greyscale PNG of width x height built row by row (the zlib stream is tiny, the pixels many)."""
    row = b"\x00" * (1 + (width * bit_depth + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + b"".join(extra_chunks)
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def png_payload(data: bytes) -> dict:
    return {"png": base64.b64encode(data).decode()}
