"""Regenerate fixtures/coco_rle.json: random masks encoded by pycocotools, for the node RLE parity test.

Run: .venv/bin/python tests/frontend/make_rle_fixture.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

OUT = Path(__file__).parent / "fixtures" / "coco_rle.json"


def make_cases(seed: int = 7) -> list[dict]:
    """Masks of assorted shapes (empty, full, blobs, noise) with pycocotools' compressed RLE."""
    rng = np.random.default_rng(seed)
    shapes = [(1, 1), (3, 5), (7, 4), (16, 23), (40, 31)]
    cases = []
    for h, w in shapes:
        masks = [np.zeros((h, w), bool), np.ones((h, w), bool), rng.random((h, w)) > 0.5]
        yy, xx = np.mgrid[:h, :w]
        masks.append((xx - w / 3) ** 2 + (yy - h / 2) ** 2 < (min(h, w) / 2.5) ** 2)
        for m in masks:
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            cases.append({
                "height": h, "width": w,
                "rows": ["".join("1" if v else "0" for v in row) for row in m],
                "counts_string": rle["counts"].decode("ascii"),
                "area": int(mask_utils.area(rle)),
                "bbox": [int(v) for v in mask_utils.toBbox(rle)],
            })
    return cases


if __name__ == "__main__":
    OUT.write_text(json.dumps(make_cases(), indent=0))
    print(f"wrote {OUT}")
