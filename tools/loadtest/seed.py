"""Seed annotator accounts into a running stack's database: `python -m tools.loadtest.seed --users N --out FILE`.

Runs in the stack's environment (DJANGO_SETTINGS_MODULE, DATABASE_URL or CLICKLABEL_VAR_DIR, MEDIA_STORAGE, ...),
so images go to the stack's media storage (a local folder or S3). Creates teams of `--team` users; each team is a
project (default model and mode of the settings) with one label, and each user is a manager of their team's
project (they annotate and may export) with `--images` images of their own, assigned to them. Writes JSON:
{"accounts": [{"username", "token", "cookie", "project", "label", "images": [{"id", "width", "height"}]}]}.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

DEFAULT_SIZE = (640, 480)


def synthetic_jpeg(width: int, height: int, seed: int) -> bytes:
    """A JPEG of a textured background with one orange ellipse (the object) near the middle, (x, y) shifted
    by `seed` so that every image differs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 70 + 35 * np.sin(xx / width * (5 + seed % 3)) * np.cos(yy / height * 4) + rng.normal(0, 6, (height, width))
    img = np.repeat(np.clip(base, 0, 255)[..., None], 3, axis=2).astype(np.uint8)
    cx, cy = width * (0.45 + 0.05 * ((seed % 5) - 2) / 2), height * 0.5
    inside = ((xx - cx) / (width * 0.2)) ** 2 + ((yy - cy) / (height * 0.24)) ** 2 <= 1
    img[inside] = (225, 135, 45)
    buf = io.BytesIO()
    PILImage.fromarray(img).save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def seed_accounts(users: int, images_per_user: int = 2, team: int = 10, size: tuple[int, int] = DEFAULT_SIZE,
                  prefix: str = "load") -> dict:
    """Create the accounts (inside Django); returns the JSON-ready description above."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from labeling.models import Image, Label, Membership, Project, Role

    User = get_user_model()
    accounts, project, label = [], None, None
    for i in range(users):
        if i % team == 0:
            project = Project.objects.create(name=f"{prefix}-team-{i // team:02d}")
            label = Label.objects.create(project=project, name="object", color="#e08a2c")
        user = User.objects.create_user(f"{prefix}-{i:03d}", password=None)
        Membership.objects.create(project=project, user=user, role=Role.MANAGER)
        images = []
        for k in range(images_per_user):
            data = synthetic_jpeg(*size, seed=i * images_per_user + k)
            image = Image.objects.create(project=project, original_name=f"{user.username}-{k}.jpg",
                                         checksum=hashlib.sha256(data).hexdigest(), assignee=user,
                                         file=SimpleUploadedFile(f"{user.username}-{k}.jpg", data))
            images.append({"id": image.pk, "width": image.width, "height": image.height})
        client = Client()
        client.force_login(user)
        accounts.append({"username": user.username, "token": Token.objects.create(user=user).key,
                         "cookie": f"sessionid={client.cookies['sessionid'].value}", "project": project.pk,
                         "label": label.pk, "images": images})
    return {"accounts": accounts}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.loadtest.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--images", type=int, default=2, help="images per user")
    parser.add_argument("--team", type=int, default=10, help="users per project")
    parser.add_argument("--size", default="x".join(map(str, DEFAULT_SIZE)), help="image WIDTHxHEIGHT")
    parser.add_argument("--prefix", default="load", help="user and project name prefix")
    parser.add_argument("--out", required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)  # no log line per login
    width, height = (int(v) for v in args.size.lower().split("x"))
    result = seed_accounts(args.users, args.images, args.team, (width, height), args.prefix)
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
