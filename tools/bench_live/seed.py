"""Seed a benchmark database: one user, one project (mode/model given), a small and a 4000×3000 image, and
`fresh` more small images that no worker has seen (the first-click scenarios open each once).

Runs inside Django (`manage.py bench_live --seed-only`), in the private stack's environment (its own SQLite
under a temporary var dir)."""
from __future__ import annotations

import io

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image as PILImage

from labeling.models import Image, Membership, Project

SMALL = (320, 240)
LARGE = (4000, 3000)


def synthetic_image(width: int, height: int) -> bytes:
    """PNG of a smooth two-tone background with an orange ellipse (the object) and a darker square."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 60 + 40 * np.sin(xx / max(width, 1) * 6.0) * np.cos(yy / max(height, 1) * 4.0)
    img = np.repeat(base[..., None], 3, axis=2).astype(np.uint8)
    inside = ((xx - width * 0.45) / (width * 0.22)) ** 2 + ((yy - height * 0.5) / (height * 0.25)) ** 2 <= 1
    img[inside] = (225, 135, 45)
    img[int(height * 0.1):int(height * 0.3), int(width * 0.75):int(width * 0.9)] = (30, 30, 110)
    buf = io.BytesIO()
    PILImage.fromarray(img).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def login_cookie(user) -> str:
    """A session cookie header value for `user`."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def seed(mode: str, model: str, fresh: int = 0, users: int = 1) -> dict:
    """Create the benchmark data; returns {"cookie", "cookies", "small_image", "large_image", "fresh_images",
    "sizes"}, sizes as {"small": (width, height), "large": (width, height)}; `fresh_images` are `fresh` more small
    images; `cookies` log in `users` members (the first is "cookie"'s), one per concurrent annotator."""
    user, _ = get_user_model().objects.get_or_create(username="bench")
    project, _ = Project.objects.get_or_create(name="bench-live", defaults={"default_mode": mode,
                                                                           "default_model": model})
    Membership.objects.get_or_create(project=project, user=user)
    ids = {}
    for name, (width, height) in {"small": SMALL, "large": LARGE}.items():
        image = Image.objects.create(project=project, original_name=f"{name}.png", checksum=f"{name:0<64}"[:64],
                                     file=SimpleUploadedFile(f"{name}.png", synthetic_image(width, height)))
        ids[name] = image.pk
    small_png = synthetic_image(*SMALL)
    fresh_ids = [Image.objects.create(project=project, original_name=f"fresh{i}.png", checksum=f"f{i:063d}",
                                      file=SimpleUploadedFile(f"fresh{i}.png", small_png)).pk for i in range(fresh)]
    cookies = [login_cookie(user)]
    for i in range(1, users):
        other, _ = get_user_model().objects.get_or_create(username=f"bench{i}")
        Membership.objects.get_or_create(project=project, user=other)
        cookies.append(login_cookie(other))
    return {"cookie": cookies[0], "cookies": cookies, "small_image": ids["small"],
            "large_image": ids["large"], "fresh_images": fresh_ids, "sizes": {"small": SMALL, "large": LARGE}}
