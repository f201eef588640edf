"""Seed the end-to-end database (run as a subprocess with the live stack's environment).

Creates an annotator, a reviewer and a manager (exports), a project in GrabCut mode with two labels, and three synthetic
images (a bright ellipse and a rectangle on a textured background); and a second project on the default network
(mode f-brs-b) with three such images and two large ones (1600×1200). Prints one JSON line with the ids and the
ellipse's centre in image pixels (x, y).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402

from labeling.models import Image, Label, Membership, Project, Role  # noqa: E402

WIDTH, HEIGHT = 240, 160
CENTRE = (88, 84)  # (x, y) of the ellipse


BIG = (1600, 1200)


def scene(seed: int, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """An RGB PNG: textured grey-green background, an orange ellipse and a blue rectangle (the 240×160 layout
    scaled to width×height)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] * (WIDTH / width)
    img = np.stack([60 + 30 * yy / HEIGHT, 90 + 20 * xx / WIDTH, 70 + 0 * xx], axis=-1)
    img = img + rng.normal(0, 8, size=img.shape)
    ellipse = ((xx - CENTRE[0]) / 52) ** 2 + ((yy - CENTRE[1]) / 38) ** 2 <= 1
    img[ellipse] = (235, 140, 40)
    img[(yy >= 30) & (yy < 75) & (xx >= 160) & (xx < 215)] = (40, 90, 220)
    buf = io.BytesIO()
    PILImage.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def add_image(project: Project, name: str, data: bytes, size: tuple[int, int] = (WIDTH, HEIGHT)) -> Image:
    checksum = hashlib.sha256(data).hexdigest()
    image = Image(project=project, original_name=name, checksum=checksum)
    image.file.save(name, ContentFile(data), save=False)
    image.width, image.height = size
    image.save()
    return image


def main() -> None:
    users = get_user_model().objects
    annotator = users.create_user("alice", password="alice-pw-123")
    reviewer = users.create_user("rita", password="rita-pw-123")
    manager = users.create_user("mona", password="mona-pw-123")
    project = Project.objects.create(name="E2E shapes", default_model="default", default_mode="grabcut")
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    Membership.objects.create(project=project, user=reviewer, role=Role.REVIEWER)
    Membership.objects.create(project=project, user=manager, role=Role.MANAGER)
    cat = Label.objects.create(project=project, name="blob", color="#ff3b30", order=0)
    Label.objects.create(project=project, name="box", color="#34c759", order=1)
    images = [add_image(project, f"shapes{i}.png", scene(i)) for i in range(3)]
    net = Project.objects.create(name="E2E network", default_model="default", default_mode="f-brs-b")
    Membership.objects.create(project=net, user=annotator, role=Role.ANNOTATOR)
    net_label = Label.objects.create(project=net, name="blob", color="#ff9500", order=0)
    big = [add_image(net, f"big{i}.png", scene(10 + i, *BIG), BIG) for i in range(2)]
    small = [add_image(net, f"net{i}.png", scene(20 + i)) for i in range(3)]
    print(json.dumps({"project_id": project.pk, "image_ids": [im.pk for im in images], "label_id": cat.pk,
                      "net_project_id": net.pk, "net_label_id": net_label.pk, "net_image_ids": [im.pk for im in small],
                      "big_image_ids": [im.pk for im in big], "big_size": BIG,
                      "label_name": cat.name, "centre": CENTRE, "width": WIDTH, "height": HEIGHT,
                      "annotator": ["alice", "alice-pw-123"], "reviewer": ["rita", "rita-pw-123"],
                      "manager": ["mona", "mona-pw-123"]}))


if __name__ == "__main__":
    main()
