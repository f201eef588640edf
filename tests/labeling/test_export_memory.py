"""Exports stream: the peak memory of an export does not grow with the project's size.

Each case exports a project of N images, then of 4N images, measuring the peak of Python allocations
(`tracemalloc`, which numpy reports to as well) over the whole request: building the export and reading
it back out (the job stores it through Django storage, the direct export is read from its streaming
response). Going from N to 4N images may cost at most one image's worth (its file plus its masks' RLE)
plus a constant; an export built in memory costs 3N images' worth more.
"""
from __future__ import annotations

import gc
import tracemalloc
from typing import Callable

import numpy as np
import pytest

from urllib.parse import urlencode

from rest_framework.authtoken.models import Token

from labeling.exports.jobs import export_job_run
from labeling.masks import mask_to_rle, rle_area, rle_bbox
from labeling.models import Annotation, ExportJob, ExportStatus, Image, Label

from export_helpers import ring_mask
from labeling_factories import make_image
from request_helpers import asgi_get

N = 4
SIDE = 160
CONSTANT = 64 * 1024


def _peak_bytes(run: Callable[[], None]) -> int:
    """Peak of traced allocations made while `run()` runs (bytes)."""
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _add_images(project, noise: Label, ring: Label, count: int, seed: int) -> int:
    """Add `count` SIDE×SIDE noise PNGs, each with a noise mask (long RLE) and a ring; returns the largest
    image's worth in bytes (file + RLE strings)."""
    rng = np.random.default_rng(seed)
    worth = 0
    for _ in range(count):
        image = make_image(project, width=SIDE, height=SIDE)
        rles = []
        for label, mask in ((noise, rng.random((SIDE, SIDE)) < 0.5), (ring, ring_mask(SIDE, SIDE))):
            rle = mask_to_rle(mask)
            Annotation.objects.create(image=image, label=label, rle=rle, bbox=rle_bbox(rle), area=rle_area(rle))
            rles.append(rle)
        worth = max(worth, image.file.size + sum(len(r["counts"]) for r in rles))
    return worth


def _run_job(project, fmt: str, options: dict) -> Callable[[], None]:
    def run() -> None:
        job = ExportJob.objects.create(project=project, format=fmt, options=options)
        assert export_job_run(job_id=job.pk).status == ExportStatus.DONE
    return run


def _run_direct(client, project, params: dict) -> Callable[[], None]:
    def run() -> None:
        response = client.get(f"/api/projects/{project.pk}/export/", params)
        assert response.status_code == 200
        chunks = response.streaming_content if response.streaming else [response.content]
        size = sum(len(chunk) for chunk in chunks)
        assert size > 0
    return run


def _run_asgi(user, path: str, params: dict) -> Callable[[], None]:
    """Through Django's ASGI handler, as daphne serves it (a response it buffered whole would show here)."""
    token = Token.objects.get_or_create(user=user)[0].key

    def run() -> None:
        status, size, _ = asgi_get(path, query=urlencode(params), token=token)
        assert status == 200 and size > 0
    return run


def _run_asgi_job_download(user, project, options: dict) -> Callable[[], None]:
    def run() -> None:
        job = export_job_run(job_id=ExportJob.objects.create(project=project, format="voc", options=options).pk)
        _run_asgi(user, f"/api/exports/{job.pk}/download/", {})()
    return run


CASES = {
    "job coco-rle json": lambda w, p, noise, ring: _run_job(p, "coco-rle", {}),
    "job coco-rle zip with images": lambda w, p, noise, ring: _run_job(p, "coco-rle", {"include_images": True}),
    "job yolo-seg zip with images": lambda w, p, noise, ring: _run_job(
        p, "yolo-seg", {"include_images": True, "labels": [ring.pk]}),
    "direct voc zip with images": lambda w, p, noise, ring: _run_direct(
        w.client(w.manager), p, {"format": "voc", "include_images": "1"}),
    "direct coco-rle json": lambda w, p, noise, ring: _run_direct(w.client(w.manager), p, {"format": "coco-rle"}),
    "direct coco-polygon json": lambda w, p, noise, ring: _run_direct(
        w.client(w.manager), p, {"format": "coco-polygon", "labels": str(ring.pk)}),
    "asgi direct coco-rle zip with images": lambda w, p, noise, ring: _run_asgi(
        w.manager, f"/api/projects/{p.pk}/export/", {"format": "coco-rle", "include_images": "1"}),
    "asgi job voc zip download": lambda w, p, noise, ring: _run_asgi_job_download(
        w.manager, p, {"include_images": True}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_export_peak_memory_is_flat_in_the_number_of_images(world, case):
    project = world.project
    Image.objects.filter(project=project).delete()
    noise, ring = world.label, world.label2
    worth = _add_images(project, noise, ring, N, seed=1)
    run = CASES[case](world, project, noise, ring)
    run()  # warm-up: imports, query compilation, caches
    peak_n = _peak_bytes(run)
    worth = max(worth, _add_images(project, noise, ring, 3 * N, seed=2))
    peak_4n = _peak_bytes(run)
    print(f"{case}: peak {peak_n / 1024:.0f} KiB for {N} images, {peak_4n / 1024:.0f} KiB for {4 * N} images "
          f"(one image's worth {worth / 1024:.0f} KiB)")
    assert peak_4n - peak_n <= worth + CONSTANT, (peak_n, peak_4n, worth)
