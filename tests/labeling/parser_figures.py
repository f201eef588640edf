"""Figures of the untrusted-input parsers for docs/reliability.md: per parser, the inputs generated, how many
were accepted / refused with a 4xx, how many raised anything else (a 5xx) or broke the memory budget; then
the peak memory of one request of each kind on a 4000 x 3000 image.

    python tests/labeling/parser_figures.py [--examples N]

Runs on a fresh SQLite database in a temporary folder (nothing else is touched). Peak memory is given twice:
`traced` is what tracemalloc sees (Python objects and numpy buffers), `rss` the growth of the process's
peak resident set (everything, C libraries included: Pillow, pycocotools, zlib), measured after resetting
the kernel's high-water mark (/proc/self/clear_refs).
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]
W, H = 4000, 3000


def _setup(var_dir: str) -> None:
    os.environ["CLICKLABEL_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings.test"
    from django.conf import settings

    settings.MEDIA_ROOT = os.path.join(var_dir, "media")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _world():
    from django.contrib.auth import get_user_model

    from labeling.models import Image, Label, Membership, Project, Role
    from labeling.services.images import image_upload_files
    from labeling_factories import png_bytes

    manager = get_user_model().objects.create_user(username="manager", password="x")
    project = Project.objects.create(name="Figures")
    Membership.objects.create(project=project, user=manager, role=Role.MANAGER)
    Label.objects.create(project=project, name="cat")
    report = image_upload_files(project=project, files=[("small.png", png_bytes(12, 8, seed=1)),
                                                        ("small2.png", png_bytes(12, 8, seed=2)),
                                                        ("big.jpg", _big_jpeg())], user=manager)
    images = {a.name: Image.objects.get(pk=a.image_id) for a in report.accepted}
    return project, manager, images


def _big_jpeg() -> bytes:
    import numpy as np
    from PIL import Image as PILImage

    yy, xx = np.mgrid[:H, :W]
    rgb = np.stack([(xx * 255 // W), (yy * 255 // H), ((xx + yy) % 256)], axis=2).astype(np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(rgb).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


# --- generated inputs ------------------------------------------------------------------------------

def _generated(examples: int, project, manager, images) -> list[dict]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    import fuzz_checks as checks
    import fuzz_inputs as inputs
    from django.conf import settings as django_settings

    django_settings.CLICKLABEL_MAX_ZIP_MEMBERS = 20
    small = images["small.png"]
    names = [small.original_name, images["small2.png"].original_name]
    sizes = st.tuples(st.integers(1, 24), st.integers(1, 24))
    parsers = {
        "mask payload: compressed / list RLE": (
            sizes.flatmap(lambda hw: st.tuples(st.just(hw), inputs.rle_payloads(*hw))),
            lambda case: checks.check_mask_payload(case[1], *case[0])),
        "mask payload: PNG": (
            sizes.flatmap(lambda hw: st.tuples(st.just(hw), inputs.png_payloads(*hw))),
            lambda case: checks.check_mask_payload(case[1], *case[0])),
        "mask payload: any JSON": (
            st.tuples(inputs.json_values, sizes), lambda case: checks.check_mask_payload(case[0], *case[1])),
        "COCO import file": (
            st.tuples(inputs.coco_files(names, small.width, small.height), st.integers(0, 4), st.data()),
            lambda case: checks.check_coco_import(
                project=project, user=manager, pixels=small.width * small.height,
                data=(json.dumps(case[0]).encode() if case[1] else
                      case[2].draw(inputs.mutated(json.dumps(case[0]).encode()))))),
        "uploaded image bytes": (inputs.image_uploads(), lambda data: checks.check_image_upload(data, 1_000_000)),
        "uploaded zip bytes": (inputs.zip_uploads(),
                               lambda data: checks.check_zip_upload(project=project, user=manager, data=data)),
    }
    django_settings.CLICKLABEL_MAX_IMAGE_PIXELS = 1_000_000
    rows = []
    for name, (strategy, check) in parsers.items():
        tally = {"parser": name, "inputs": 0, "ok": 0, "refused_4xx": 0, "5xx": 0, "over_budget": 0,
                 "max_traced_mb": 0.0}
        started = time.monotonic()

        @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def run(case):
            tally["inputs"] += 1
            try:
                outcome, peak = check(case)
            except AssertionError:
                tally["over_budget"] += 1
                return
            except Exception:  # anything but a 4xx would be a 500
                tally["5xx"] += 1
                return
            tally["ok" if outcome == "ok" else "refused_4xx"] += 1
            tally["max_traced_mb"] = max(tally["max_traced_mb"], peak / 2 ** 20)

        run()
        tally["seconds"] = round(time.monotonic() - started, 1)
        rows.append(tally)
    django_settings.CLICKLABEL_MAX_IMAGE_PIXELS = 50_000_000
    return rows


# --- one request of each kind at 4000 x 3000 --------------------------------------------------------

def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _measure(fn) -> tuple[str, float, float]:
    import tracemalloc

    from labeling.errors import ClickLabelError

    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed heap back, so that growth shows in the RSS
    except OSError:
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
        rss_base = _status_kb("VmRSS")
    except OSError:
        rss_base = None
    tracemalloc.start()
    try:
        result = fn()
        outcome = "ok" if not isinstance(result, str) else result
    except ClickLabelError as exc:
        outcome = f"{exc.status} {exc.code}"
    traced = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    rss = (_status_kb("VmHWM") - rss_base) / 1024 if rss_base is not None else float("nan")
    return outcome, traced, rss


def _requests(project, manager, big) -> list[tuple[str, str, float, float]]:
    import numpy as np

    from labeling.masks import mask_to_rle, parse_mask_payload
    from labeling.services.imports import import_job_create
    from labeling.imports.jobs import import_job_run
    from labeling.uploads import validate_image
    from mask_payloads import grey_png, png_payload, rle_string
    from upload_helpers import directory_only_zip
    from fuzz_inputs import runs_of

    yy, xx = np.mgrid[:H, :W]
    detailed = ((xx - 2000) ** 2 + (yy - 1500) ** 2 < 1200 ** 2) ^ (((xx // 3) + (yy // 3)) % 7 == 0)
    rle = mask_to_rle(detailed)
    runs = runs_of(detailed)
    png_buf = io.BytesIO()
    from PIL import Image as PILImage

    PILImage.fromarray(detailed.astype(np.uint8) * 255).save(png_buf, format="PNG")
    png_exact = {"png": base64.b64encode(png_buf.getvalue()).decode()}
    polygon = [[1000, 500, 3000, 500, 3500, 2500, 500, 2500]]
    coco = {"images": [{"id": 1, "file_name": big.original_name, "width": W, "height": H}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": polygon},
                            {"id": 2, "image_id": 1, "category_id": 1, "segmentation": rle}]}
    coco_bytes = json.dumps(coco).encode()
    jpeg = _big_jpeg()
    zip_bomb = directory_only_zip(60_000, name_bytes=5)
    del yy, xx

    def coco_job():
        job = import_job_run(job_id=import_job_create(project=project, user=manager, data=coco_bytes).pk)
        return job.status if job.status != "done" else None

    kinds = [
        (f"RLE string, detailed mask ({len(rle['counts']):,} chars)", lambda: parse_mask_payload(rle, H, W)),
        (f"RLE list, same mask ({len(runs):,} runs)", lambda: parse_mask_payload({"size": [H, W], "counts": runs}, H, W)),
        ("RLE string declaring 60000x60000", lambda: parse_mask_payload({"size": [60000, 60000], "counts": "03"}, H, W)),
        ("RLE string covering 40 of 12M pixels", lambda: parse_mask_payload({"size": [H, W], "counts": rle_string([0, 40])}, H, W)),
        (f"PNG mask, same mask ({len(png_exact['png']):,} base64 chars)", lambda: parse_mask_payload(png_exact, H, W)),
        ("PNG header declaring 60000x60000", lambda: parse_mask_payload(png_payload(grey_png(60000, 8)), H, W)),
        ("COCO import job: 1 polygon + 1 RLE annotation", coco_job),
        (f"upload: {W}x{H} JPEG ({len(jpeg):,} bytes)", lambda: validate_image(jpeg, "big.jpg")),
        ("upload: zip declaring 60,000 members", lambda: validate_zip(zip_bomb)),
    ]

    def validate_zip(data):
        from labeling.services.images import image_upload_files

        report = image_upload_files(project=project, files=[("bomb.zip", data)], user=manager)
        return f"400 {report.refused[0].code}" if report.refused else None

    rows = []
    for name, fn in kinds:
        outcome, traced, rss = _measure(fn)
        rows.append((name, outcome, traced, rss))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=300, help="generated inputs per parser (default 300)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clicklabel-figures-") as var_dir:
        _setup(var_dir)
        import logging

        logging.disable(logging.CRITICAL)
        project, manager, images = _world()
        generated = _generated(args.examples, project, manager, images)
        requests = _requests(project, manager, images["big.jpg"])
    print("| parser | inputs generated | accepted | refused (4xx) | 5xx | over memory budget | max traced MB | s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in generated:
        print(f"| {r['parser']} | {r['inputs']} | {r['ok']} | {r['refused_4xx']} | {r['5xx']} | {r['over_budget']} "
              f"| {r['max_traced_mb']:.1f} | {r['seconds']} |")
    print()
    print(f"| request at {W}x{H} | outcome | peak traced MB | peak RSS growth MB |")
    print("|---|---|---:|---:|")
    for name, outcome, traced, rss in requests:
        print(f"| {name} | {outcome} | {traced:.1f} | {rss:.1f} |")


if __name__ == "__main__":
    main()
