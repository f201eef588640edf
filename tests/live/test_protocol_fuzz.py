"""Generated websocket frames against the message parser and the consumer (Hypothesis).

Properties: every frame either gets a refusal with a known error code and a message, or is accepted and
round-trips (the accepted message, written back in the protocol's form, parses to the same message); no other
exception ever escapes (one would close the socket with 1011); parsing a frame allocates at most a bounded multiple
of its size; through the real consumer the socket stays open and answers every frame."""
from __future__ import annotations

import asyncio
import json
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labeling.live.protocol import (MAX_MESSAGE_BYTES, ClickMessage, PingMessage, PrefetchMessage, ProtocolError,
                                    decode, parse)

pytestmark = pytest.mark.fuzz

WIDTH, HEIGHT = 96, 64
CODES = {"bad_frame", "too_large", "not_json", "bad_schema", "unknown_type", "too_many_clicks", "out_of_bounds",
         "unknown_mode", "unknown_model", "rate_limited"}
MODES = ["nobrs", "rgb-brs", "distmap-brs", "f-brs-a", "f-brs-b", "f-brs-c", "grabcut"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=6),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=6)),
                           max_leaves=30)
coordinate = st.one_of(st.integers(-5, 200), st.floats(-5, 200, allow_nan=False), st.floats(), scalars)
clicks = st.lists(st.fixed_dictionaries({"x": coordinate, "y": coordinate, "positive": st.one_of(st.booleans(),
                                                                                                scalars)},
                                        optional={"z": scalars}), max_size=8)
near_click = st.fixed_dictionaries(
    {"type": st.just("click"), "seq": st.one_of(st.integers(-3, 2**60), scalars),
     "object_id": st.one_of(st.text(min_size=0, max_size=70), scalars), "clicks": st.one_of(clicks, json_values)},
    optional={"mode": st.one_of(st.sampled_from(MODES), scalars), "model": st.one_of(st.just("default"), scalars),
              "prev_mask": st.one_of(st.fixed_dictionaries({"annotation_id": st.integers(-2, 10**20)}), json_values),
              "steps": st.one_of(st.lists(st.integers(-1, 10), max_size=10), json_values), "extra": scalars})
near_other = st.one_of(
    st.fixed_dictionaries({"type": st.just("prefetch"), "image_id": st.one_of(st.integers(-2, 2**70), scalars)},
                          optional={"x": scalars}),
    st.fixed_dictionaries({"type": st.sampled_from(["ping", "pong", "", "CLICK"])}, optional={"x": scalars}),
    st.dictionaries(st.text(max_size=8), json_values, max_size=5))


def _dump(value) -> str:
    return json.dumps(value, allow_nan=True)


frames = st.one_of(
    st.text(max_size=200),
    json_values.map(_dump),
    near_click.map(_dump),
    near_other.map(_dump),
    st.tuples(st.sampled_from(["[", "{\"a\":", "[{\"x\":"]), st.integers(1, 40_000)).map(lambda t: t[0] * t[1]),
    st.integers(1, 60_000).map(lambda n: "9" * n),                                 # long numbers
    st.integers(1, 60_000).map(lambda n: '{"type":"click","seq":' + "9" * n + "}"),
    st.integers(0, 70_000).map(lambda n: '{"type":"ping","pad":"' + "é" * n + '"}'),   # around the size limit
)


def protocol_form(message: ClickMessage | PrefetchMessage | PingMessage) -> dict:
    """An accepted message written back the way a client sends it."""
    if isinstance(message, PingMessage):
        return {"type": "ping"}
    if isinstance(message, PrefetchMessage):
        return {"type": "prefetch", "image_id": message.image_id}
    out = {"type": "click", "seq": message.seq, "object_id": message.object_id, "steps": list(message.steps),
           "clicks": [{"x": x, "y": y, "positive": p} for x, y, p in message.clicks]}
    for key, value in (("mode", message.mode), ("model", message.model)):
        if value is not None:
            out[key] = value
    if message.prev_annotation_id is not None:
        out["prev_mask"] = {"annotation_id": message.prev_annotation_id}
    return out


def parse_frame(text: str):
    return parse(decode(text, None), WIDTH, HEIGHT)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frames)
def test_every_frame_is_refused_with_a_code_or_accepted_and_round_trips(text):
    try:
        message = parse_frame(text)
    except ProtocolError as exc:
        assert exc.code in CODES and exc.message, (exc.code, exc.message)
        return
    again = parse_frame(json.dumps(protocol_form(message)))
    assert again == message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frames)
def test_parsing_a_frame_allocates_a_bounded_multiple_of_its_size(text):
    tracemalloc.start()
    try:
        try:
            parse_frame(text)
        except ProtocolError:
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = min(len(text.encode("utf-8", "surrogatepass")), MAX_MESSAGE_BYTES)
    assert peak <= 64 * size + 256 * 1024, f"{peak} bytes for a {size}-byte frame"


@given(st.binary(max_size=100))
@settings(max_examples=50, deadline=None)
def test_binary_frames_are_refused(data):
    with pytest.raises(ProtocolError) as err:
        decode(None, data)
    assert err.value.code == "bad_frame"


# --- through the real consumer ----------------------------------------------------------------------
@pytest.fixture
def sent_tasks(monkeypatch, live_redis):
    """Celery dispatch captured; one fake worker queue with a live heartbeat."""
    from inference.worker.heartbeat import beat
    from labeling.live import dispatch

    calls: list = []
    for name in ("send_click", "send_warmup", "send_cancel"):
        monkeypatch.setattr(dispatch, name, lambda *args, name=name: calls.append((name, args)))
    beat(live_redis, "clicks.fuzz.1", ttl_s=600)
    return calls


@pytest.mark.django_db(transaction=True)
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(st.lists(frames.filter(bool), min_size=3, max_size=6))   # the test client cannot send an empty frame
def test_the_socket_survives_generated_frames_and_answers_each(live_world, sent_tasks, batch):
    """Each frame gets a reply (an error with a code, a status for a click that was dispatched, nothing for an
    accepted prefetch, pong for a ping); the socket is still open afterwards and answers a ping."""
    from .conftest import communicator

    async def run() -> None:
        from channels.layers import channel_layers

        channel_layers.backends = {}          # channels_redis binds to the loop that first used it
        comm = communicator(live_world["image"].pk, live_world["member_cookie"])
        connected, _ = await comm.connect()
        assert connected
        assert (await comm.receive_json_from(timeout=5))["type"] == "ready"
        for text in batch:
            await comm.send_to(text_data=text)
            try:
                expected = parse_frame(text)
            except ProtocolError as exc:
                reply = await comm.receive_json_from(timeout=5)
                assert reply["type"] == "error" and reply["code"] == exc.code, reply
                continue
            if isinstance(expected, PingMessage):
                assert await comm.receive_json_from(timeout=5) == {"type": "pong"}
            elif isinstance(expected, ClickMessage):
                reply = await comm.receive_json_from(timeout=5)
                assert reply["type"] in {"status", "error"}, reply
            else:
                reply = await comm.receive_output(timeout=0.5) if not await comm.receive_nothing(0.2) else None
                assert reply is None or json.loads(reply["text"])["type"] == "error"
        await comm.send_json_to({"type": "ping"})
        while (answer := await comm.receive_json_from(timeout=5))["type"] != "pong":
            assert answer["type"] in {"error", "status"}, answer
        await comm.disconnect()

    asyncio.run(run())
