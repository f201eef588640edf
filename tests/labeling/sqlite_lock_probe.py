"""Run a big upload or COCO import in one thread while another saves annotations, on a real SQLite file in
WAL mode with IMMEDIATE transactions (the embedded default), and print what happened as JSON.

    python tests/labeling/sqlite_lock_probe.py upload|import VAR_DIR

The busy timeout is lowered to BUSY_TIMEOUT seconds and storage writes take STORAGE_DELAY seconds each
(a network store's latency), so a write transaction that spans the file writes, or a whole import, outlasts
the timeout and the annotator's save fails with "database is locked"; short transactions do not.
Run by tests/labeling/test_sqlite_locking.py in a subprocess (its own database file, its own settings).
"""
from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
from pathlib import Path

BUSY_TIMEOUT = 0.5
STORAGE_DELAY = 0.05
UPLOAD_FILES = 40
IMPORT_ANNOTATIONS = 800

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from django.core.files.storage import FileSystemStorage  # noqa: E402


class SlowStorage(FileSystemStorage):
    """Local files that take STORAGE_DELAY seconds per write, like a remote object store."""

    def _save(self, name, content):  # noqa: ANN001, ANN202 - Django's signature
        time.sleep(STORAGE_DELAY)
        return super()._save(name, content)


def _configure(var_dir: str) -> None:
    os.environ["CLICKLABEL_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings.test"
    from django.conf import settings

    settings.DATABASES["default"]["OPTIONS"]["timeout"] = BUSY_TIMEOUT
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.SlowStorage"}}
    settings.CLICKLABEL_IMPORT_INLINE_BYTES = 0
    settings.CELERY_TASK_ALWAYS_EAGER = True
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _world():
    from django.contrib.auth import get_user_model

    from labeling.models import Label, Membership, Project, Role
    from labeling.services.annotations import annotation_create
    from labeling.services.images import image_upload_files
    from labeling_factories import box_mask, png_bytes

    manager = get_user_model().objects.create_user(username="manager", password="x")
    annotator = get_user_model().objects.create_user(username="annotator", password="x")
    project = Project.objects.create(name="Locks")
    Membership.objects.create(project=project, user=manager, role=Role.MANAGER)
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    label = Label.objects.create(project=project, name="cat")
    report = image_upload_files(project=project, files=[("a.png", png_bytes(12, 8, seed=1)),
                                                        ("b.png", png_bytes(12, 8, seed=2))], user=manager)
    from labeling.models import Image

    target, other = (Image.objects.get(pk=a.image_id) for a in report.accepted)
    annotation = annotation_create(image=target, user=annotator, label=label, mask=box_mask())
    return {"manager": manager, "annotator": annotator, "project": project, "label": label, "target": target,
            "other": other, "annotation": annotation}


def _big_upload(world) -> dict:
    from labeling.services.images import image_upload_files
    from labeling_factories import png_bytes

    files = [(f"big{i}.png", io.BytesIO(png_bytes(16, 16, seed=100 + i))) for i in range(UPLOAD_FILES)]
    report = image_upload_files(project=world["project"], files=files, user=world["manager"])
    return {"accepted": len(report.accepted)}


def _big_import(world) -> dict:
    from labeling.masks import mask_to_rle
    from labeling_factories import box_mask

    other = world["other"]
    coco = {"images": [{"id": 1, "file_name": other.original_name, "width": 12, "height": 8}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": i, "image_id": 1, "category_id": 1, "segmentation": mask_to_rle(box_mask())}
                            for i in range(IMPORT_ANNOTATIONS)]}
    return _run_import(world, json.dumps(coco).encode())


def _run_import(world, data: bytes) -> dict:
    from labeling.models import ImportJob
    from labeling.services.imports import import_job_create

    # Celery runs the task eagerly here (CELERY_TASK_ALWAYS_EAGER): import_job_create returns once it has run.
    job = import_job_create(project=world["project"], user=world["manager"], data=data, name="big.json")
    job = ImportJob.objects.get(pk=job.pk)
    return {"status": job.status, "job_error": job.error, "imported": job.report.get("counts", {}).get("imported")}


def main() -> None:
    mode, var_dir = sys.argv[1], sys.argv[2]
    _configure(var_dir)
    from django.db import OperationalError, connection

    from labeling.services.annotations import annotation_update
    from labeling_factories import box_mask

    world = _world()
    outcome: dict = {}

    def background() -> None:
        from django.db import connection as own

        started = time.monotonic()
        try:
            outcome.update(_big_upload(world) if mode == "upload" else _big_import(world))
        except Exception as exc:  # reported to the test
            outcome["error"] = f"{type(exc).__name__}: {exc}"
        outcome["seconds"] = round(time.monotonic() - started, 2)
        own.close()

    worker = threading.Thread(target=background)
    worker.start()
    saves, errors, annotation = 0, [], world["annotation"]
    mask = box_mask()
    while worker.is_alive():
        try:
            annotation = annotation_update(annotation=annotation, user=world["annotator"], version=annotation.version,
                                           mask=~mask if saves % 2 else mask)
            saves += 1
        except OperationalError as exc:
            errors.append(str(exc))
        time.sleep(0.02)
    worker.join()
    connection.close()
    print(json.dumps({"mode": mode, "saves": saves, "errors": errors, **outcome}))


if __name__ == "__main__":
    main()
