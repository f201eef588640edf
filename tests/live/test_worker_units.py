"""Worker-side building blocks without Celery: LRU cache, ROI PNG payload, click-list sync on the real
engine (GrabCut, no weights), request parsing, the model holder's fallbacks and the refinement setting."""
from __future__ import annotations

import base64
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from inference.worker.cache import LRUCache
from inference.worker.live_session import LiveSession, plan_steps
from inference.worker.model_holder import ModelHolder, parse_extra_models
from inference.worker.payload import FLOOR_Q, MAX_PNG_SIDE, MIN_CLIENT_THRESHOLD, decode_roi_png, encode_roi_png
from inference.worker.requests import ClickRequest, ImageRef, RequestError
from inference.worker.service import (LiveEngine, clone_session, engine_click, engine_session_factory,
                                      template_nbytes)

from tests.conftest import REPO_ROOT

from .conftest import synthetic_png


# --- cache ------------------------------------------------------------------------------------------
def test_lru_evicts_least_recently_used_by_count_and_bytes():
    evicted = []
    cache = LRUCache(max_entries=3, max_bytes=100, on_evict=lambda k, v: evicted.append(k))
    for key in "abc":
        cache.put(key, key.upper(), 10)
    assert cache.get("a") == "A"                 # a is now the most recent
    cache.put("d", "D", 10)
    assert evicted == ["b"] and cache.keys() == ["c", "a", "d"]
    cache.put("e", "E", 85)                      # 10 + 10 + 10 + 85 > 100: evict until within budget
    assert cache.keys() == ["d", "e"] and cache.nbytes == 95
    cache.put("huge", "H", 1000)                 # larger than the budget: kept alone
    assert cache.keys() == ["huge"] and cache.get("e") is None


def test_lru_rejects_bad_bounds():
    with pytest.raises(ValueError):
        LRUCache(0, 10)
    with pytest.raises(ValueError):
        LRUCache(1, 10).put("a", 1, -1)


# --- payload ----------------------------------------------------------------------------------------
def test_roi_png_round_trips_at_8_bit_and_crops_to_nonzero():
    rng = np.random.default_rng(1)
    probs = np.zeros((300, 400), dtype=np.float32)
    probs[50:120, 200:260] = rng.random((70, 60), dtype=np.float32)
    probs[60, 210] = 1.0
    roi = encode_roi_png(probs)
    message = roi.as_message()
    full = decode_roi_png(message, 300, 400)
    expected = np.rint(probs * 255).astype(int)
    expected[expected <= FLOOR_Q] = 0   # below every threshold the annotator offers
    assert np.abs(full.astype(int) - expected).max() == 0
    ys, xs = np.nonzero(expected)
    assert message["roi"] == {"x": int(xs.min()), "y": int(ys.min()), "width": int(xs.max() - xs.min() + 1),
                              "height": int(ys.max() - ys.min() + 1)}


def test_empty_map_gives_a_one_pixel_zero_roi():
    message = encode_roi_png(np.zeros((30, 40), dtype=np.float32)).as_message()
    assert message["roi"] == {"x": 0, "y": 0, "width": 1, "height": 1}
    assert decode_roi_png(message, 30, 40).max() == 0
    with pytest.raises(ValueError):
        encode_roi_png(np.zeros((2, 3, 4), dtype=np.float32))


def test_faint_background_is_dropped_so_the_roi_stays_on_the_object():
    probs = np.full((750, 1000), 0.03, dtype=np.float32)           # a network's faint background
    probs[250:350, 500:650] = 0.97
    probs[10, 10] = MIN_CLIENT_THRESHOLD + 0.01                    # visible at the lowest threshold: kept
    message = encode_roi_png(probs).as_message()
    assert message["roi"] == {"x": 10, "y": 10, "width": 640, "height": 340}
    full = decode_roi_png(message, 750, 1000)
    for threshold in (MIN_CLIENT_THRESHOLD, 0.49, 0.95):   # the client's view is unchanged at any threshold
        assert np.array_equal(full / 255 > threshold, np.rint(probs * 255) / 255 > threshold)


def test_large_soft_roi_is_sent_downscaled_and_stretched_back():
    yy, xx = np.mgrid[:3000, :4000].astype(np.float32)
    distance = np.sqrt(((xx - 2000) / 1500) ** 2 + ((yy - 1500) / 1100) ** 2)
    probs = 1 / (1 + np.exp((distance - 1) * 40))                    # soft-edged ellipse filling the image
    message = encode_roi_png(probs).as_message()
    png = cv2.imdecode(np.frombuffer(base64.b64decode(message["png"]), np.uint8), cv2.IMREAD_UNCHANGED)
    roi = message["roi"]
    assert max(png.shape) == MAX_PNG_SIDE and max(roi["width"], roi["height"]) > MAX_PNG_SIDE
    assert abs(png.shape[1] / png.shape[0] - roi["width"] / roi["height"]) < 0.01
    full = decode_roi_png(message, 3000, 4000)
    ours, truth = full > 0.49 * 255, probs > 0.49
    assert (ours & truth).sum() / (ours | truth).sum() > 0.999
    assert np.abs(full.astype(int) - np.rint(probs * 255)).max() <= 16   # bilinear over a 2× downscale
    small_png = base64.b64encode(cv2.imencode(".png", np.zeros((25, 50), np.uint8))[1].tobytes()).decode()
    with pytest.raises(ValueError):   # only ROIs over MAX_PNG_SIDE may come downscaled
        decode_roi_png({"roi": {"x": 0, "y": 0, "width": 100, "height": 50}, "png": small_png}, 3000, 4000)


def test_binary_mask_payload_at_4000x3000_is_small():
    probs = np.zeros((3000, 4000), dtype=np.float32)
    yy, xx = np.ogrid[:3000, :4000]
    probs[((xx - 2000) / 900.0) ** 2 + ((yy - 1500) / 700.0) ** 2 <= 1] = 1.0
    message = encode_roi_png(probs).as_message()
    assert len(message["png"]) < 64 * 1024, "a mask frame must stay far below daphne's 1 MiB limit"


# --- click-list sync on the real engine ------------------------------------------------------------
@pytest.fixture
def picture():
    from io import BytesIO

    from PIL import Image

    return np.asarray(Image.open(BytesIO(synthetic_png(96, 64))).convert("RGB"))


class CountingSession:
    """Spy around a real engine session: counts add_click / restore calls."""

    def __init__(self, inner):
        self.inner, self.calls = inner, {"add_click": 0, "restore": 0}

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name in self.calls:
            def counted(*args, **kwargs):
                self.calls[name] += 1
                return attr(*args, **kwargs)
            return counted
        return attr


def test_steps_say_where_the_network_predicted_and_between_them_clicks_are_fast_forwarded(picture):
    c1, c2, c3, c4 = (48.0, 32.0, True), (5.0, 5.0, False), (50.0, 30.0, True), (90.0, 60.0, False)
    spy = CountingSession(engine_session_factory(None, picture, "grabcut"))
    live = LiveSession(spy, engine_click, picture.shape[:2])
    r = live.sync([c1])
    assert (r.action, r.steps, r.predictions) == ("append", (1,), 1)
    r = live.sync([c1, c2, c3, c4], r.steps)               # a burst: one prediction, not three
    assert (r.action, r.steps, spy.calls["add_click"]) == ("append", (1, 4), 2)
    assert [(c.x, c.y, c.positive) for c in spy.inner.clicks] == [c1, c2, c3, c4]
    assert plan_steps(4, [1, 9, 0, 2]) == (1, 2, 4) and plan_steps(0, [1]) == ()


def test_sync_resumes_from_checkpoints_and_is_a_function_of_clicks_and_steps(picture):
    spy = CountingSession(engine_session_factory(None, picture, "grabcut"))
    live = LiveSession(spy, engine_click, picture.shape[:2])
    c1, c2, c3 = (48.0, 32.0, True), (5.0, 5.0, False), (50.0, 30.0, True)
    assert live.sync([c1]).payload == live.sync([c1], [1]).payload
    three = live.sync([c1, c2, c3], [1, 2])
    assert (three.action, three.predictions, three.steps) == ("append", 2, (1, 2, 3))
    two = live.sync([c1, c2], [1, 2])
    assert (two.action, two.predictions) == ("undo", 0) and live.applied == (c1, c2)
    assert live.sync([c1, c2], [1, 2]).action == "unchanged"
    again = live.sync([c1, c2, c3], [1])                  # same clicks, another history: click 2 fast-forwarded
    assert (again.action, again.predictions, again.steps) == ("restore", 1, (1, 3))
    other = live.sync([c3], [])
    assert (other.action, other.predictions) == ("replay", 1)
    fresh = LiveSession(engine_session_factory(None, picture, "grabcut"), engine_click, picture.shape[:2])
    assert fresh.sync([c3]).payload == other.payload, "a replay equals a fresh session"
    assert fresh.sync([c1, c2, c3], [1, 2]).payload == three.payload
    empty = live.sync([])
    assert decode_roi_png(empty.payload.as_message(), 64, 96).max() == 0 and empty.steps == ()


def test_an_interrupted_prediction_leaves_the_session_consistent(picture):
    from inference.worker import interrupt

    live = LiveSession(engine_session_factory(None, picture, "grabcut"), engine_click, picture.shape[:2])
    c1, c2 = (48.0, 32.0, True), (5.0, 5.0, False)
    one = live.sync([c1])
    calls = {"n": 0}

    def stop_second_check():
        calls["n"] += 1
        if calls["n"] == 2:
            raise interrupt.Interrupted("stale")

    interrupt.set_checker(stop_second_check)
    try:
        with pytest.raises(interrupt.Interrupted):
            live.sync([c1, c2, c1], [1, 2])                # stopped before its second prediction
    finally:
        interrupt.set_checker(None)
    assert live.sync([c1], [1]).payload == one.payload
    fresh = LiveSession(engine_session_factory(None, picture, "grabcut"), engine_click, picture.shape[:2])
    assert live.sync([c1, c2, c1], [1, 2]).payload == fresh.sync([c1, c2, c1], [1, 2]).payload


@pytest.fixture(scope="module")
def default_model():
    from inference.model_zoo import load_model

    model = load_model("default")
    from inference.worker.interrupt import make_interruptible

    make_interruptible(model.net)
    return model


def test_on_the_default_network_any_path_to_the_same_clicks_and_steps_gives_the_same_mask(picture, default_model):
    """The live path (appends, a coalesced burst, an undo, a branch), a cold replay and a copy of a prepared
    template all give byte-identical masks for the same (clicks, steps): what a reload, a reconnect, a worker
    restart or a move to another worker relies on."""
    clicks = [(48.0, 32.0, True), (35.0, 25.0, True), (5.0, 5.0, False), (60.0, 40.0, True), (80.0, 10.0, False)]
    template = engine_session_factory(default_model, picture, "f-brs-b")
    live = LiveSession(clone_session(template), engine_click, picture.shape[:2])
    first = live.sync(clicks[:1])
    burst = live.sync(clicks[:3], first.steps)             # clicks 2 and 3 arrived together
    four = live.sync(clicks[:4], burst.steps)
    undo = live.sync(clicks[:3], burst.steps)
    branch = live.sync(clicks[:3] + clicks[4:], undo.steps)
    assert burst.steps == (1, 3) and four.steps == (1, 3, 4) and undo.payload == burst.payload
    for result, n in ((four, 4), (burst, 3), (branch, 4)):
        wanted = (clicks[:3] + clicks[4:]) if result is branch else clicks[:n]
        cold = LiveSession(engine_session_factory(default_model, picture, "f-brs-b"), engine_click, picture.shape[:2])
        assert cold.sync(wanted, result.steps).payload == result.payload
    assert four.payload != LiveSession(clone_session(template), engine_click, picture.shape[:2]).sync(
        clicks[:4], []).payload, "the steps matter: another history gives another mask"
    assert template.clicks == [], "copies leave the template untouched"
    assert clone_session(template).predictor.original_image is template.predictor.original_image


def _sam_weights_installed() -> bool:
    from inference.networks.sam.weights import DEFAULT_WEIGHTS_DIR, weights_installed

    return weights_installed(DEFAULT_WEIGHTS_DIR, check_hash=False)


@pytest.mark.slow
@pytest.mark.skipif(not _sam_weights_installed(), reason="the SAM-class weights are not installed (make venv)")
@pytest.mark.parametrize(("name", "mode"), [("sam", "nobrs"), ("best", "f-brs-b")])
def test_sam_class_models_run_on_the_worker_from_a_shared_template(picture, name, mode):
    """The registered SAM-class models (`best` too) resolve on the worker; an object's copy of the prepared
    template shares the image embedding (nested in `best`'s predictor), the live path equals a cold replay byte
    for byte, and the session counts none of the template's bytes."""
    resolved = ModelHolder().resolve(name, mode)
    assert (resolved.mode, resolved.fallback) == (mode, False)
    template = engine_session_factory(resolved.model, picture, mode)
    copy = clone_session(template)
    sam_of = (lambda s: s.predictor.sam) if name == "best" else (lambda s: s.predictor)
    assert sam_of(copy).embedded is sam_of(template).embedded and sam_of(copy) is not sam_of(template)
    clicks = [(48.0, 32.0, True), (30.0, 20.0, True), (5.0, 5.0, False)]
    live = LiveSession(copy, engine_click, picture.shape[:2], shared=template)
    first = live.sync(clicks[:1])
    burst = live.sync(clicks, first.steps)
    cold = LiveSession(engine_session_factory(resolved.model, picture, mode), engine_click, picture.shape[:2])
    assert cold.sync(clicks, burst.steps).payload == burst.payload
    assert template.clicks == []
    unshared = LiveSession(clone_session(template), engine_click, picture.shape[:2])
    unshared.sync(clicks[:1])
    assert 0 < live.nbytes < unshared.nbytes, "the template's bytes are counted once, with the template"


def test_a_network_forward_stops_between_layers_when_interrupted(picture, default_model):
    from inference.worker import interrupt

    session = engine_session_factory(default_model, picture, "nobrs")
    checks = {"n": 0}

    def count_then_stop():
        checks["n"] += 1
        if checks["n"] > 5:
            raise interrupt.Interrupted("preempted")

    interrupt.set_checker(count_then_stop)
    try:
        with pytest.raises(interrupt.Interrupted):
            session.add_click(engine_click(48, 32, True))
    finally:
        interrupt.set_checker(None)
    assert checks["n"] == 6 and session.clicks == []
    assert session.add_click(engine_click(48, 32, True)).shape == (64, 96), "no checker: runs as usual"


# --- requests and the engine facade -----------------------------------------------------------------
def payload(path, clicks, **over):
    data = {"sid": "s1", "session": "u1.i1", "reply_channel": "chan", "seq": 3, "object_id": "o",
            "clicks": [{"x": x, "y": y, "positive": p} for x, y, p in clicks],
            "image": {"id": 1, "path": str(path), "width": 96, "height": 64}, "model": "default", "mode": "grabcut"}
    data.update(over)
    return data


@pytest.mark.parametrize("over, code", [
    ({"mode": "bogus"}, "unknown_mode"),
    ({"clicks": [{"x": 96, "y": 1, "positive": True}]}, "out_of_bounds"),
    ({"clicks": [{"x": 1, "y": 1}]}, "bad_schema"),
    ({"seq": "x"}, "bad_request"),
    ({"image": {"id": 1}}, "bad_request"),
])
def test_click_request_rejects_bad_payloads(tmp_path, over, code):
    with pytest.raises(RequestError) as err:
        ClickRequest.from_task({**payload(tmp_path / "x.png", []), **over})
    assert err.value.code == code


def test_engine_answers_with_a_mask_message_and_caches_the_session(tmp_path):
    path = tmp_path / "pic.png"
    path.write_bytes(synthetic_png(96, 64))
    engine = LiveEngine()
    first = engine.click(ClickRequest.from_task(payload(path, [(48, 32, True)])))
    assert first["mode"] == "grabcut" and first["device"] == "cpu" and first["cache_hit"] is False
    assert decode_roi_png(first, 64, 96)[32, 48] == 255
    assert first["steps"] == [1] and first["engine_clicks"] == 1
    second = engine.click(ClickRequest.from_task(payload(path, [(48, 32, True), (2, 2, False)], seq=4, steps=[1])))
    assert second["cache_hit"] is True and second["sync"] == "append" and second["steps"] == [1, 2]
    other = engine.click(ClickRequest.from_task(payload(path, [(48, 32, True)], object_id="p", seq=5)))
    assert other["cache_hit"] is False and len(engine.sessions) == 2


def test_engine_refuses_a_wrong_image_size_and_unreadable_files(tmp_path):
    path = tmp_path / "pic.png"
    path.write_bytes(synthetic_png(80, 64))
    with pytest.raises(RequestError) as err:
        LiveEngine().click(ClickRequest.from_task(payload(path, [(4, 4, True)])))
    assert err.value.code == "image_mismatch"
    from inference.worker.images import ImageLoadError

    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ImageLoadError):
        LiveEngine().click(ClickRequest.from_task(payload(tmp_path / "junk.png", [(4, 4, True)])))


def test_model_holder_falls_back_to_grabcut_without_weights_and_refuses_unknown_names(tmp_path):
    holder = ModelHolder(extra={"missing": str(tmp_path / "nope.pth")})
    resolved = holder.resolve("missing", "f-brs-b")
    assert (resolved.model, resolved.mode, resolved.fallback) == (None, "grabcut", True)
    with pytest.raises(RequestError) as err:
        holder.resolve("no-such-model", "nobrs")
    assert err.value.code == "unknown_model"
    assert holder.resolve("anything", "grabcut").model is None
    assert parse_extra_models("a=/x.pth; b=/y.pth") == {"a": "/x.pth", "b": "/y.pth"}
    with pytest.raises(ValueError):
        parse_extra_models("justaname")


def test_fixture_checkpoint_runs_under_a_registered_test_name(shared_fixtures, tmp_path):
    ckpt = shared_fixtures / "ritm_hrnet18s_itermask" / "weights.pth"
    path = tmp_path / "pic.png"
    path.write_bytes(synthetic_png(96, 64))
    engine = LiveEngine(holder=ModelHolder(device="cpu", extra={"test-hrnet": str(ckpt)}))
    message = engine.click(ClickRequest.from_task(payload(path, [(48, 32, True)], model="test-hrnet", mode="nobrs")))
    assert message["mode"] == "nobrs" and "fallback" not in message and message["model_ms"] > 0
    assert decode_roi_png(message, 64, 96).shape == (64, 96)


def test_session_cache_is_bounded_by_memory_and_rebuilds_evicted_objects(tmp_path):
    path = tmp_path / "pic.png"
    path.write_bytes(synthetic_png(96, 64))
    probe = LiveEngine()
    probe.click(ClickRequest.from_task(payload(path, [(48, 32, True)], object_id="probe")))
    one_session = probe.sessions.nbytes
    engine = LiveEngine(session_cache_bytes=int(2.5 * one_session))
    for obj in "abc":
        engine.click(ClickRequest.from_task(payload(path, [(48, 32, True)], object_id=obj)))
    assert len(engine.sessions) == 2 and engine.sessions.nbytes <= 2.5 * one_session
    again = engine.click(ClickRequest.from_task(payload(path, [(48, 32, True), (3, 3, False)], object_id="a",
                                                        steps=[1])))
    assert again["cache_hit"] is False and again["engine_clicks"] == 2, "evicted state rebuilt from the list"


def test_one_user_with_many_objects_evicts_only_their_own_sessions(tmp_path):
    path = tmp_path / "pic.png"
    path.write_bytes(synthetic_png(96, 64))
    engine = LiveEngine(max_sessions_per_user=2)
    engine.click(ClickRequest.from_task(payload(path, [(48, 32, True)], session="u2.i1", object_id="theirs")))
    for obj in "abcd":
        engine.click(ClickRequest.from_task(payload(path, [(48, 32, True)], session="u1.i1", object_id=obj)))
    assert (engine.sessions_of("u1"), engine.sessions_of("u2")) == (2, 1)
    kept = engine.click(ClickRequest.from_task(payload(path, [(48, 32, True)], session="u2.i1", object_id="theirs")))
    assert kept["cache_hit"] is True and kept["sync"] == "unchanged"


def test_a_prepared_image_starts_at_once_and_a_cold_click_says_preparing(tmp_path):
    path = tmp_path / "pic.png"
    path.write_bytes(synthetic_png(96, 64))
    engine = LiveEngine()
    states: list[str] = []
    cold = engine.click(ClickRequest.from_task(payload(path, [(48, 32, True)])), notify=states.append)
    assert states == ["preparing", "computing"] and cold["prepare_ms"] >= 0
    other = tmp_path / "other.png"
    other.write_bytes(synthetic_png(96, 64))
    ref = ImageRef(2, str(other), 96, 64)
    assert not engine.is_prepared(ref, "default", "grabcut")
    info = engine.prepare(ref, "default", "grabcut")
    assert info["cached"] is False and engine.is_prepared(ref, "default", "grabcut")
    assert engine.prepare(ref, "default", "grabcut")["cached"] is True
    states.clear()
    warm = engine.click(ClickRequest.from_task(payload(other, [(48, 32, True)], image={"id": 2, "path": str(other),
                                                                                       "width": 96, "height": 64})),
                        notify=states.append)
    assert states == ["computing"] and "prepare_ms" not in warm


def test_previous_mask_seeds_the_session_and_a_bad_one_is_a_typed_error(tmp_path):
    from pycocotools import mask as mask_utils

    path = tmp_path / "pic.png"
    path.write_bytes(synthetic_png(96, 64))
    prev = np.zeros((64, 96), dtype=np.uint8, order="F")
    prev[10:30, 20:50] = 1
    rle = mask_utils.encode(prev)
    rle = {"size": list(rle["size"]), "counts": rle["counts"].decode("ascii")}
    engine = LiveEngine()
    shown = engine.click(ClickRequest.from_task(payload(path, [], prev_mask={"annotation_id": 5, "rle": rle})))
    assert np.array_equal(decode_roi_png(shown, 64, 96) > 127, prev.astype(bool)), "no clicks yet: the old mask"
    corrected = engine.click(ClickRequest.from_task(
        payload(path, [(48, 32, True)], seq=4, prev_mask={"annotation_id": 5, "rle": rle})))
    assert corrected["cache_hit"] is True and decode_roi_png(corrected, 64, 96)[32, 48] == 255
    with pytest.raises(RequestError) as err:
        engine.click(ClickRequest.from_task(payload(path, [], prev_mask={"annotation_id": 6,
                                                                         "rle": {"size": [1, 1], "counts": "0"}})))
    assert err.value.code == "bad_prev_mask"


# --- the worker's predictor settings (a preset of inference.predictors.presets) -----------------------
def test_engine_sessions_run_the_app_preset_and_templates_count_the_refiner_bytes(monkeypatch):
    """By default every session gets exactly `presets.APP`'s settings for its mode (the guided filter,
    longest side 800; f-BRS-B cold start with every click to the network; other modes the reference's);
    CLICKLABEL_WORKER_PRESET=reference gives the papers' settings."""
    from inference.model_zoo import load_model
    from inference.predictors.presets import APP, REFERENCE

    model = load_model("default")
    picture = np.zeros((40, 60, 3), np.uint8)
    picture[10:30, 15:45] = (200, 80, 40)
    monkeypatch.delenv("CLICKLABEL_WORKER_PRESET", raising=False)
    for mode in ("nobrs", "f-brs-a", "f-brs-b", "rgb-brs"):
        assert engine_session_factory(model, picture, mode).config == APP.config(mode)
    fbrs_b = engine_session_factory(model, picture, "f-brs-b")
    assert fbrs_b.config.brs_warm_start is False and fbrs_b.predictor.net_clicks_limit is None
    other = engine_session_factory(model, picture, "f-brs-a")
    assert other.config.brs_warm_start is True and other.predictor.net_clicks_limit == 8
    refined = engine_session_factory(model, picture, "nobrs")
    assert refined.predictor.refiner.params.radius == 4
    monkeypatch.setenv("CLICKLABEL_WORKER_PRESET", "reference")
    plain = engine_session_factory(model, picture, "nobrs")
    assert plain.config == REFERENCE.config("nobrs") and plain.predictor.refiner is None
    assert engine_session_factory(model, picture, "f-brs-b").predictor.net_clicks_limit == 8
    sizes = [template_nbytes(s) for s in (plain, refined)]
    assert sizes[1] - sizes[0] == refined.predictor.refiner.nbytes > 0, "the template counts the filter's bytes"
    monkeypatch.setenv("CLICKLABEL_WORKER_PRESET", "tuned")
    with pytest.raises(ValueError, match="CLICKLABEL_WORKER_PRESET: unknown preset 'tuned'"):
        engine_session_factory(model, picture, "nobrs")


def test_worker_refuses_to_start_with_an_unknown_preset():
    env = {**os.environ, "CLICKLABEL_WORKER_PRESET": "tuned"}
    res = subprocess.run([sys.executable, "-m", "inference.worker"], cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2 and "CLICKLABEL_WORKER_PRESET: unknown preset 'tuned'" in res.stderr
