"""`seed_demo`: an admin, an annotator, a reviewer and a small demo project with generated images.

Idempotent: run it on every start. Passwords are generated once and kept in
`<VAR_DIR>/demo_credentials.json` (mode 0600); existing users keep their passwords.
"""
from __future__ import annotations

import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageDraw

from labeling.models import Label, Membership, Project, Role
from labeling.services.images import image_upload_files

DEMO_PROJECT = "Demo: shapes"
DEMO_LABELS = (("circle", "#e6194b"), ("square", "#3cb44b"), ("triangle", "#4363d8"))
DEMO_USERS = (("admin", None), ("annotator", Role.ANNOTATOR), ("reviewer", Role.REVIEWER))
N_IMAGES = 4
IMAGE_SIZE = (320, 240)  # (width, height)


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo_credentials.json"


def load_or_create_passwords(path: Path, names: list[str]) -> dict[str, str]:
    """Passwords for `names`, generated once and stored in `path` (readable only by the owner)."""
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in names if name not in stored]
    if missing:
        stored.update({name: secrets.token_urlsafe(12) for name in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return stored


def demo_image(seed: int, size: tuple[int, int] = IMAGE_SIZE) -> bytes:
    """A PNG (width, height) = `size` with a noisy background and one circle, square and triangle."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = rng.integers(150, 230, 3)
    noise = rng.normal(0, 12, (height, width, 3))
    picture = PILImage.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for shape in ("circle", "square", "triangle"):
        x, y = int(rng.integers(40, width - 40)), int(rng.integers(40, height - 40))
        r = int(rng.integers(18, 36))
        colour = tuple(int(c) for c in rng.integers(0, 120, 3))
        if shape == "circle":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        elif shape == "square":
            draw.rectangle((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=colour)
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    return buf.getvalue()


class Command(BaseCommand):
    help = "Create the demo users (admin, annotator, reviewer) and a demo project with a few generated images."

    def handle(self, *args: Any, **options: Any) -> None:
        passwords = load_or_create_passwords(credentials_path(), [name for name, _ in DEMO_USERS])
        users = {name: self._user(name, passwords[name]) for name, _ in DEMO_USERS}
        project = self._project(users)
        added = self._images(project, users["admin"])
        self.stdout.write(f"demo project '{project.name}' (id {project.pk}): {project.images.count()} images"
                          f"{f', {added} added now' if added else ''}")
        for name, _ in DEMO_USERS:
            self.stdout.write(f"login: {name} / {passwords[name]}")
        self.stdout.write(f"(credentials kept in {credentials_path()})")

    def _user(self, username: str, password: str) -> Any:
        model = get_user_model()
        user = model.objects.filter(username=username).first()
        if user is None:
            is_admin = username == "admin"
            user = model.objects.create_user(username=username, password=password, is_staff=is_admin,
                                             is_superuser=is_admin)
        return user

    @transaction.atomic
    def _project(self, users: dict[str, Any]) -> Project:
        project, _ = Project.objects.get_or_create(
            name=DEMO_PROJECT, defaults={"description": "Generated shapes to try click-driven segmentation on."})
        for order, (name, color) in enumerate(DEMO_LABELS):
            Label.objects.get_or_create(project=project, name=name, defaults={"color": color, "order": order})
        Membership.objects.get_or_create(project=project, user=users["admin"], defaults={"role": Role.MANAGER})
        for name, role in DEMO_USERS:
            if role is not None:
                Membership.objects.get_or_create(project=project, user=users[name], defaults={"role": role})
        return project

    def _images(self, project: Project, admin: Any) -> int:
        if project.images.exists():
            return 0
        files = [(f"shapes_{i + 1}.png", demo_image(i)) for i in range(N_IMAGES)]
        report = image_upload_files(project=project, files=files, user=admin)
        for refused in report.refused:
            self.stderr.write(f"demo image refused: {refused.name}: {refused.reason}")
        return len(report.accepted)
