"""Pure web-side pieces: the watchdog's decision, the token bucket and the message parser."""
from __future__ import annotations

import pytest

from labeling.live.protocol import MAX_MESSAGE_BYTES, ClickMessage, ProtocolError, decode, parse
from labeling.live.ratelimit import StrikeCounter, TokenBucket
from labeling.live.outstanding import CHECK, GIVE_UP, WAIT, Outstanding, watchdog_step


def test_watchdog_waits_then_checks_the_worker_then_gives_up():
    out = Outstanding("r1", 1, "q", sent_at=100.0)
    assert watchdog_step(out, 100.5, check_after_s=1.0, give_up_after_s=40.0) == WAIT
    assert watchdog_step(out, 102.0, check_after_s=1.0, give_up_after_s=40.0) == CHECK
    assert watchdog_step(out, 141.0, check_after_s=1.0, give_up_after_s=40.0) == GIVE_UP


def test_token_bucket_allows_bursts_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.1
    assert bucket.take() and not bucket.take()
    strikes = StrikeCounter(limit=2, window_s=1.0, clock=lambda: now[0])
    assert not strikes.strike() and not strikes.strike() and strikes.strike()
    now[0] += 2
    assert not strikes.strike(), "old strikes leave the window"


def test_parse_click_accepts_the_contract_message():
    msg = parse(decode('{"type":"click","seq":3,"object_id":"a","clicks":[{"x":0,"y":9.5,"positive":false}],'
                       '"mode":"f-brs-b","model":"default","prev_mask":{"annotation_id":7}}', None), 10, 10)
    assert msg == ClickMessage(seq=3, object_id="a", clicks=((0.0, 9.5, False),), mode="f-brs-b",
                               model="default", prev_annotation_id=7, steps=())
    two = '[{"x":1,"y":1,"positive":true},{"x":2,"y":2,"positive":false}]'
    msg = parse(decode(f'{{"type":"click","seq":4,"object_id":"a","clicks":{two},"steps":[1,2]}}', None), 10, 10)
    assert msg.steps == (1, 2)


@pytest.mark.parametrize("text, code", [
    ('{"type":"click","seq":true,"object_id":"a","clicks":[]}', "bad_schema"),
    ('{"type":"click","seq":1,"object_id":"","clicks":[]}', "bad_schema"),
    ('{"type":"click","seq":1,"object_id":"a","clicks":[{"x":NaN,"y":1,"positive":true}]}', "out_of_bounds"),
    ('{"type":"click","seq":1,"object_id":"a","clicks":[],"model":"w.pth"}', "unknown_model"),
    ('{"type":"click","seq":1,"object_id":"a","clicks":[],"prev_mask":{"annotation_id":0}}', "bad_schema"),
    ('{"type":"click","seq":1,"object_id":"a","clicks":[],"steps":[1]}', "bad_schema"),
    ('{"type":"click","seq":1,"object_id":"a","clicks":[{"x":1,"y":1,"positive":true}],"steps":[1,1]}', "bad_schema"),
    ('{"type":"click","seq":1,"object_id":"a","clicks":[{"x":1,"y":1,"positive":true}],"steps":[true]}', "bad_schema"),
    ('{"type":"click","seq":1,"object_id":"a","clicks":[{"x":1,"y":1,"positive":true}],"steps":"1"}', "bad_schema"),
    ('{"type":"prefetch","image_id":-1}', "bad_schema"),
    ('{"type":"ping","x":1}', "bad_schema"),
])
def test_parse_refuses_with_codes(text, code):
    with pytest.raises(ProtocolError) as err:
        parse(decode(text, None), 10, 10)
    assert err.value.code == code


def test_decode_refuses_binary_and_oversize_frames():
    with pytest.raises(ProtocolError) as err:
        decode(None, b"\x00")
    assert err.value.code == "bad_frame"
    with pytest.raises(ProtocolError) as err:
        decode("é" * (MAX_MESSAGE_BYTES // 2 + 1), None)     # under the limit in characters, over in bytes
    assert err.value.code == "too_large"
