"""What the click worker tells clients never contains a host path: an unreadable image, a model without
weights and an engine failure answer with a code and a plain message (the worker log keeps the details)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from inference.worker import runtime, tasks
from inference.worker.jobs import LiveRunner, Replies, build_scheduler
from inference.worker.model_holder import ModelHolder
from inference.worker.service import LiveEngine

from .conftest import synthetic_png


class Sender:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, channel: str, message: dict, wait: bool = True) -> None:
        self.sent.append(message)


def run_click(monkeypatch, engine: LiveEngine, path, mode: str = "grabcut", model: str = "default") -> dict:
    """One click through the Celery task, the worker's real scheduler and runner; returns the last reply."""
    sender = Sender()
    replies = Replies(sender, "clicks.test.1")
    runner = LiveRunner(engine, replies)
    scheduler = build_scheduler(runner)
    monkeypatch.setattr(runtime, "get", lambda: SimpleNamespace(engine=engine, queue="clicks.test.1",
                                                                replies=replies, runner=runner, scheduler=scheduler))
    try:
        assert tasks.click.run({"sid": "s1", "session": "u1.i1", "reply_channel": "chan", "seq": 1, "object_id": "o",
                                "clicks": [{"x": 48, "y": 32, "positive": True}], "model": model, "mode": mode,
                                "image": {"id": 1, "path": str(path), "width": 96, "height": 64}}) == "queued"
        assert scheduler.wait_idle(60)
    finally:
        scheduler.close()
    return sender.sent[-1]


def test_a_failed_warm_up_names_the_error_type_only(monkeypatch, tmp_path):
    junk = tmp_path / "secret-dir" / "junk.png"
    junk.parent.mkdir()
    junk.write_bytes(b"not an image")
    sender = Sender()
    runner = LiveRunner(LiveEngine(), Replies(sender, "clicks.test.1"))
    job = runner.prepare_job({"kind": "open", "reply_channel": "chan", "sid": "s1", "model": "default",
                              "mode": "grabcut", "image": {"id": 1, "path": str(junk), "width": 96, "height": 64}})
    runner.run(job)
    reply = sender.sent[-1]
    assert (reply["type"], reply["ok"], reply["error"]) == ("live.warm", False, "ImageLoadError")
    assert not any(str(tmp_path) in str(value) for value in reply.values())


def test_an_unreadable_image_is_reported_without_its_path(monkeypatch, tmp_path):
    junk = tmp_path / "secret-dir" / "junk.png"
    junk.parent.mkdir()
    junk.write_bytes(b"not an image")
    reply = run_click(monkeypatch, LiveEngine(), junk)
    assert (reply["type"], reply["code"]) == ("live.error", "image_unreadable")
    assert str(tmp_path) not in reply["message"] and "secret-dir" not in reply["message"]


@pytest.mark.parametrize("name", ["missing", "/srv/hidden/weights.pth"])
def test_a_model_without_weights_falls_back_without_naming_its_file(monkeypatch, tmp_path, name):
    picture = tmp_path / "pic.png"
    picture.write_bytes(synthetic_png(96, 64))
    engine = LiveEngine(holder=ModelHolder(extra={"missing": str(tmp_path / "hidden" / "nope.pth")}))
    reply = run_click(monkeypatch, engine, picture, mode="f-brs-b", model=name)
    assert reply["type"] == "live.mask" and reply["fallback"] == "grabcut"
    assert "/" not in reply["fallback_reason"] and "weights" in reply["fallback_reason"]


def test_an_engine_failure_names_the_error_type_only(monkeypatch, tmp_path):
    picture = tmp_path / "pic.png"
    picture.write_bytes(synthetic_png(96, 64))
    engine = LiveEngine()

    def explode(req, notify=None):
        raise FileNotFoundError(f"[Errno 2] No such file: '{tmp_path}/cache.bin'")

    monkeypatch.setattr(engine, "click", explode)
    reply = run_click(monkeypatch, engine, picture)
    assert reply["code"] == "inference_failed" and "FileNotFoundError" in reply["message"]
    assert str(tmp_path) not in reply["message"]
