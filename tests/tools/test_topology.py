"""The scaled-out topology (tools/topology.py) and what it needs of the workers: image bytes from S3.

A real S3 endpoint (moto's server mode, a separate process) behind django-storages; the full topology test
also needs PostgreSQL and RabbitMQ on their usual local ports."""
from __future__ import annotations

import http.server
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
import requests
from PIL import Image as PILImage

from inference.worker.images import ImageLoadError, fetch_bytes, load_rgb
from inference.worker.requests import ImageRef
from inference.worker.service import LiveEngine
from tests.tools.process_helpers import process_alive
from tools import stack as launcher
from tools import topology


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(np.full((height, width, 3), 120, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """moto's S3 server on a free port with the topology's bucket; its URL."""
    port = launcher.free_port()
    stack = launcher.Stack(dict(os.environ), log_dir=tmp_path_factory.mktemp("s3"))
    stack.start("s3", topology.s3_server_command(port))
    try:
        stack.wait_until(lambda: launcher.port_open(port), "the S3 server", 60)
        endpoint = f"http://127.0.0.1:{port}"
        topology.create_bucket(endpoint, "clicklabel-test")
        yield endpoint
    finally:
        stack.stop()


def test_worker_reads_an_s3_image_through_the_presigned_url_the_web_side_gives(s3_endpoint):
    from django.db.models.fields.files import FieldFile
    from storages.backends.s3 import S3Storage

    from labeling.live.access import image_location
    from labeling.models import Image

    storage = S3Storage(bucket_name="clicklabel-test", endpoint_url=s3_endpoint, access_key=topology.S3_KEY_ID,
                        secret_key=topology.S3_SECRET, region_name=topology.S3_REGION, default_acl=None,
                        querystring_auth=True)
    name = storage.save("projects/1/images/ab/pic.png", io.BytesIO(_png(48, 32)))
    field_file = FieldFile(None, Image._meta.get_field("file"), name)
    field_file.storage = storage
    path, url = image_location(SimpleNamespace(file=field_file))
    assert path == "" and url.startswith(s3_endpoint + "/clicklabel-test/") and "Signature=" in url
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403, "the object itself stays private"
    engine = LiveEngine()
    image = engine.image(ImageRef(id=7, path=path, width=48, height=32, url=url))
    assert image.shape == (32, 48, 3) and int(image[0, 0, 0]) == 120
    assert engine.image(ImageRef(id=7, path=path, width=48, height=32, url="http://127.0.0.1:1/gone")) is image, \
        "decoded once, then cached by image id"


def test_fetch_refuses_other_schemes_oversized_bodies_and_never_echoes_the_query(tmp_path):
    body = _png(20, 10)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200 if self.path.startswith("/ok") else 404)
            self.end_headers()
            if self.path.startswith("/ok"):
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert load_rgb(fetch_bytes(base + "/ok?X-Amz-Signature=secret")).shape == (10, 20, 3)
        with pytest.raises(ImageLoadError, match=f"exceeds {len(body) - 1} bytes"):
            fetch_bytes(base + "/ok", max_bytes=len(body) - 1)
        with pytest.raises(ImageLoadError) as err:
            fetch_bytes(base + "/missing?X-Amz-Signature=secret")
        assert "secret" not in str(err.value) and "127.0.0.1" in str(err.value)
        for url in ("file:///etc/passwd", "/etc/passwd", "ftp://127.0.0.1/x"):
            with pytest.raises(ImageLoadError, match="cannot fetch an image over"):
                fetch_bytes(url)
    finally:
        server.shutdown()


@pytest.mark.slow
@pytest.mark.postgres
def test_topology_serves_clicks_from_s3_saves_exports_and_stops_cleanly(tmp_path):
    from tools.bench_live.annotator import Account, Annotator

    if not launcher.port_open(5432) or not launcher.port_open(5672):
        pytest.skip("needs PostgreSQL on 5432 and RabbitMQ on 5672")
    topo = topology.start_topology(name="clicklabel_topology_test", web=2, click_workers=2, var_dir=tmp_path,
                                   say=lambda _line: None)
    pids = topo.pids()
    try:
        assert set(pids) == {"redis", "s3", "click-worker-1", "click-worker-2", "export-worker", "web-1", "web-2"}
        assert len(topo.worker_queues) == 2 and len(topo.web_urls) == 2
        assert topo.env["MEDIA_STORAGE"] == "s3" and topo.env["CELERY_BROKER_URL"].startswith("amqp://")
        assert topo.env["DATABASE_URL"].endswith("/clicklabel_topology_test")
        out = tmp_path / "accounts.json"
        subprocess.run([sys.executable, "-m", "tools.loadtest.seed", "--users", "2", "--images", "1", "--size",
                        "160x120", "--out", str(out)], cwd=launcher.ROOT, env=topo.env, check=True,
                       capture_output=True, timeout=300)
        assert not (tmp_path / "media").exists(), "images went to S3, not to a local folder"
        for i, account in enumerate(json.loads(out.read_text())["accounts"]):   # one user per web process
            client = Annotator(Account.from_dict(account), topo.web_urls[i], requests.Session(),
                               rng=random.Random(i), think_s=(0.0, 0.0), retry_for_s=0.0)
            client.open(account["images"][0])
            assert client.annotate_object(3) is not None
            assert client.export() > 0
            client.close()
            assert client.failures == []
    finally:
        topo.stop()
    time.sleep(0.5)
    assert [name for name, pid in pids.items() if process_alive(pid)] == []
    import psycopg

    with psycopg.connect(topology.POSTGRES_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = 'clicklabel_topology_test'").fetchone() is None
