"""Timing of the CPU-heavy transfer pieces (not a test; run by hand):

    PYTHONPATH=. DJANGO_SETTINGS_MODULE=webapp.settings.test .venv/bin/python tests/labeling/bench_transfer.py

Prints seconds for validating a 12 MP JPEG and a 12 MP PNG upload, and for polygonising a 1024x768 mask
with holes and parts (plus the exactness check against pycocotools).
"""
from __future__ import annotations

import io
import time

import cv2
import django
import numpy as np

django.setup()

from PIL import Image as PILImage  # noqa: E402
from pycocotools import mask as coco_mask  # noqa: E402

from labeling.exports.polygons import mask_to_polygons  # noqa: E402
from labeling.uploads import validate_image  # noqa: E402


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    photo = cv2.resize(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8), (4000, 3000))
    for fmt in ("JPEG", "PNG"):
        buf = io.BytesIO()
        PILImage.fromarray(photo).save(buf, format=fmt)
        data = buf.getvalue()
        print(f"validate_image 4000x3000 {fmt} ({len(data) / 1e6:.1f} MB): "
              f"{best_of(lambda: validate_image(data, 'x')):.2f} s")
    yy, xx = np.mgrid[:768, :1024]
    mask = ((xx - 400) ** 2 / 300 ** 2 + (yy - 380) ** 2 / 250 ** 2) < 1
    mask &= ~(((xx - 400) ** 2 + (yy - 380) ** 2) < 80 ** 2)
    mask |= ((xx - 880) ** 2 + (yy - 150) ** 2) < 60 ** 2
    mask &= cv2.GaussianBlur(rng.random((768, 1024)).astype(np.float32), (31, 31), 0) > 0.49
    polygons = mask_to_polygons(mask)
    decoded = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(polygons, 768, 1024))).astype(bool)
    print(f"mask_to_polygons 1024x768 ({len(polygons)} parts): {best_of(lambda: mask_to_polygons(mask)):.3f} s, "
          f"exact={bool((decoded == mask).all())}")


if __name__ == "__main__":
    main()
