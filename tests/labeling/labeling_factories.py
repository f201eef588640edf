"""Factories for the labelling tests: users with roles, a project with labels, small generated images."""
from __future__ import annotations

import hashlib
import io
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image as PILImage
from rest_framework.test import APIClient

from labeling.models import Image, Label, Membership, Project, Role

_counter = itertools.count(1)


def png_bytes(width: int = 12, height: int = 8, seed: int = 0) -> bytes:
    """A small random RGB PNG."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    PILImage.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def make_image(project: Project, *, width: int = 12, height: int = 8, **fields: Any) -> Image:
    """Store a generated PNG as an Image of `project`."""
    data = png_bytes(width, height, seed=next(_counter))
    checksum = hashlib.sha256(data).hexdigest()
    image = Image(project=project, original_name=f"img{checksum[:6]}.png", checksum=checksum, **fields)
    image.file.save(f"img{checksum[:6]}.png", ContentFile(data), save=False)
    image.width, image.height = width, height  # FieldFile.save leaves the dimension fields None here
    image.save()
    return image


def make_user(name: str, **fields: Any):
    return get_user_model().objects.create_user(username=name, password="pw-" + name, **fields)


@dataclass
class World:
    """A project with one user per role, a non-member, a staff user, two labels and two images."""

    project: Project
    other_project: Project
    annotator: Any
    annotator2: Any
    reviewer: Any
    manager: Any
    outsider: Any
    staff: Any
    label: Label
    label2: Label
    other_label: Label
    image: Image
    image2: Image
    other_image: Image

    def client(self, user: Any | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client


@pytest.fixture
def world(db) -> World:
    project = Project.objects.create(name="Cats")
    other = Project.objects.create(name="Dogs")
    users = {name: make_user(name) for name in ("annotator", "annotator2", "reviewer", "manager", "outsider")}
    staff = make_user("staff", is_staff=True)
    Membership.objects.create(project=project, user=users["annotator"], role=Role.ANNOTATOR)
    Membership.objects.create(project=project, user=users["annotator2"], role=Role.ANNOTATOR)
    Membership.objects.create(project=project, user=users["reviewer"], role=Role.REVIEWER)
    Membership.objects.create(project=project, user=users["manager"], role=Role.MANAGER)
    Membership.objects.create(project=other, user=users["outsider"], role=Role.MANAGER)
    return World(
        project=project, other_project=other, staff=staff, **users,
        label=Label.objects.create(project=project, name="cat", color="#00ff00"),
        label2=Label.objects.create(project=project, name="dog", color="#0000ff", order=1),
        other_label=Label.objects.create(project=other, name="dog"),
        image=make_image(project), image2=make_image(project), other_image=make_image(other),
    )


def box_mask(height: int = 8, width: int = 12, x0: int = 2, y0: int = 1, x1: int = 6, y1: int = 4) -> np.ndarray:
    """bool (H, W) mask with the box [x0, x1) × [y0, y1) set."""
    mask = np.zeros((height, width), bool)
    mask[y0:y1, x0:x1] = True
    return mask
