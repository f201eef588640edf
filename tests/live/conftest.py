"""Fixtures of the live-annotation tests: a real Redis (REDIS_URL, else 127.0.0.1:6379/15), users,
a project with a small real image file, and websocket communicators carrying a session cookie."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image as PILImage

from inference.worker import keys

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
ORIGIN = (b"origin", b"http://127.0.0.1")


def synthetic_png(width: int = 96, height: int = 64) -> bytes:
    """An RGB test picture: noisy grey background with a bright ellipse in the middle."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    img = rng.integers(40, 90, size=(height, width, 3), dtype=np.uint8)
    inside = ((xx - width / 2) / (width / 4)) ** 2 + ((yy - height / 2) / (height / 4)) ** 2 <= 1
    img[inside] = (230, 140, 40)
    buf = io.BytesIO()
    PILImage.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def clear_live_keys(client: redis.Redis) -> None:
    for key in client.scan_iter(match=f"{keys.PREFIX}:*", count=500):
        client.delete(key)


@pytest.fixture
def live_redis():
    """A sync client on the test Redis with every live key cleared before and after the test."""
    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    clear_live_keys(client)
    yield client
    clear_live_keys(client)
    client.close()


@pytest.fixture
def live_world(db, settings, tmp_path):
    """A project (default mode grabcut) with one 96×64 image, a member, an outsider and their cookies."""
    from django.contrib.auth import get_user_model

    from labeling.models import Image, Membership, Project

    settings.MEDIA_ROOT = str(tmp_path / "media")
    User = get_user_model()
    member = User.objects.create_user("member", password="pw-member-1")
    outsider = User.objects.create_user("outsider", password="pw-outsider-1")
    project = Project.objects.create(name="live", default_model="default", default_mode="grabcut")
    Membership.objects.create(project=project, user=member)
    image = Image.objects.create(project=project, file=SimpleUploadedFile("pic.png", synthetic_png()),
                                 original_name="pic.png", checksum="c" * 64)
    other_image = Image.objects.create(project=project, file=SimpleUploadedFile("pic2.png", synthetic_png(80, 60)),
                                       original_name="pic2.png", checksum="d" * 64)

    def cookie(user) -> bytes:
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    return {"member": member, "outsider": outsider, "project": project, "image": image,
            "other_image": other_image, "member_cookie": cookie(member), "outsider_cookie": cookie(outsider)}


def communicator(image_id: int, cookie: bytes | None, origin: tuple[bytes, bytes] | None = ORIGIN):
    """A WebsocketCommunicator on the real ASGI application (origin check + auth middleware)."""
    from channels.testing import WebsocketCommunicator

    from webapp.asgi import application

    headers = [(b"host", b"127.0.0.1")]
    if origin is not None:
        headers.append(origin)
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, f"/ws/annotate/{image_id}/", headers=headers)


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """A new channel-layer instance per test: each async test has its own event loop, and channels_redis
    binds locks to the loop that first used them."""
    from channels.layers import channel_layers

    channel_layers.backends = {}
    yield
    channel_layers.backends = {}
