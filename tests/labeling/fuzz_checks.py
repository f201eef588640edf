"""The properties every parser of untrusted input must keep, one check per parser: the input is either refused
with the project's own 4xx error (`ClickLabelError`: InvalidMask, UploadRejected, "invalid_coco"...) or
gives a result that round-trips; any other exception propagates (it would be a 5xx); and the peak memory
traced during the call stays within `budget(pixels, input bytes)`.

Each check returns "ok" or "refused". Used by test_fuzz_parsers.py and parser_figures.py.
"""
from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
from PIL import Image as PILImage
from pycocotools import mask as coco_mask

from labeling.errors import ClickLabelError
from labeling.masks import mask_to_rle, parse_mask_payload, rle_to_mask
from labeling.models import Annotation, ImportJob, ImportStatus
from memory_probe import MB, peak_bytes

# Bytes per pixel of the image, per byte of input, and a constant for the interpreter's own bookkeeping.
PER_PIXEL, PER_INPUT_BYTE, BASE = 8, 16, 4 * MB


def budget(pixels: int, input_bytes: int) -> int:
    """The most memory one request may cost: a constant times the image's pixels and the input's bytes."""
    return PER_PIXEL * pixels + PER_INPUT_BYTE * input_bytes + BASE


def input_size(value: Any) -> int:
    """Bytes of a JSON-like input as it would arrive."""
    try:
        return len(json.dumps(value, default=str))
    except (TypeError, ValueError, RecursionError):
        return len(repr(value))


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, ClickLabelError) and 400 <= error.status < 500:
        return "refused"
    raise error


def check_mask_payload(payload: Any, height: int, width: int) -> tuple[str, int]:
    """parse_mask_payload: InvalidMask, or a bool (H, W) mask equal to what it encodes; returns (outcome, peak)."""
    peak, mask, error = peak_bytes(lambda: parse_mask_payload(payload, height, width))
    assert peak <= budget(height * width, input_size(payload)), f"{peak / MB:.1f} MB for {height}x{width}"
    outcome = _outcome(error)
    if outcome == "ok":
        assert mask.shape == (height, width) and mask.dtype == bool
        np.testing.assert_array_equal(rle_to_mask(mask_to_rle(mask)), mask)
        counts = payload.get("counts") if isinstance(payload, dict) and "png" not in payload else None
        if isinstance(counts, str):  # pycocotools agrees on every string we accept
            reference = coco_mask.decode({"size": [height, width], "counts": counts.encode("ascii")})
            np.testing.assert_array_equal(reference.astype(bool), mask)
        if isinstance(payload, dict) and "png" in payload:  # the mask is what the PNG shows
            data = payload["png"].split(",", 1)[-1]
            with PILImage.open(io.BytesIO(base64.b64decode(data))) as img:
                assert img.size == (width, height)
    return outcome, peak


def check_coco_import(*, project: Any, user: Any, data: bytes, pixels: int) -> tuple[str, int]:
    """import_job_create + import_job_run (what the API and the Celery task do): a 4xx at creation, a job
    that fails with a 4xx-type message, or a done job whose report matches the annotations it created."""
    from labeling.imports.jobs import import_job_run
    from labeling.services.imports import import_job_create

    before = Annotation.objects.count()

    def run() -> ImportJob:
        job = import_job_create(project=project, user=user, data=data, name="fuzz.json")
        return import_job_run(job_id=job.pk)

    peak, job, error = peak_bytes(run)
    assert peak <= budget(pixels, len(data)) + 16 * MB, f"{peak / MB:.1f} MB for a {len(data)}-byte COCO file"
    outcome = _outcome(error)
    created = Annotation.objects.count() - before
    if outcome == "refused":
        assert created == 0
        return outcome, peak
    assert not job.error.startswith("internal error"), job.error
    if job.status == ImportStatus.FAILED:
        assert created == 0
        return "refused", peak
    assert job.status == ImportStatus.DONE and job.report["counts"]["imported"] == created
    for annotation in Annotation.objects.order_by("-id")[:created]:
        mask = rle_to_mask(annotation.rle, height=annotation.image.height, width=annotation.image.width)
        assert mask.any() and annotation.area == int(mask.sum())
    return outcome, peak


def check_image_upload(data: bytes, max_pixels: int) -> tuple[str, int]:
    """validate_image: UploadRejected, or a stored file that reopens at the size reported."""
    from labeling.uploads import validate_image

    peak, image, error = peak_bytes(lambda: validate_image(data, "fuzz"))
    assert peak <= budget(max_pixels, len(data)) + 4 * max_pixels, f"{peak / MB:.1f} MB for {len(data)} bytes"
    outcome = _outcome(error)
    if outcome == "ok":
        with PILImage.open(io.BytesIO(image.content)) as stored:
            assert stored.format == image.format and stored.size == (image.width, image.height)
            assert stored.mode == "RGB"
            stored.load()
    return outcome, peak


def check_zip_upload(*, project: Any, user: Any, data: bytes) -> tuple[str, int]:
    """image_upload_files with one zip: a report (a refused zip is one refused entry), never an exception."""
    from labeling.services.images import image_upload_files

    peak, report, error = peak_bytes(
        lambda: image_upload_files(project=project, files=[("fuzz.zip", data)], user=user))
    assert peak <= budget(0, len(data)) + 16 * MB, f"{peak / MB:.1f} MB for a {len(data)}-byte zip"
    outcome = _outcome(error)
    if outcome == "ok":
        outcome = "ok" if report.accepted else "refused"
    return outcome, peak
