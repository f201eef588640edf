"""Pure web-side pieces: the latest-wins slot, the token bucket and the message parser."""
from __future__ import annotations

import pytest

from labeling.live.protocol import MAX_MESSAGE_BYTES, ClickMessage, ProtocolError, decode, parse
from labeling.live.ratelimit import StrikeCounter, TokenBucket
from labeling.live.slot import LatestWinsSlot


def test_slot_keeps_one_in_flight_and_only_the_newest_pending():
    slot = LatestWinsSlot()
    assert slot.offer("r1", 1)
    slot.start("r1", 1, "q")
    assert not slot.offer("r2", 2) and not slot.offer("r4", 4) and not slot.offer("r3", 3)
    assert (slot.pending, slot.pending_seq) == ("r4", 4), "an older seq never replaces a newer pending"
    assert slot.finish(2) is None and slot.busy, "an answer for another seq changes nothing"
    assert slot.finish(1) == "r4" and not slot.busy and slot.pending is None


def test_slot_hold_parks_new_clicks_until_release_and_abandon_returns_the_newest():
    slot = LatestWinsSlot()
    slot.hold("r5", 5)
    assert slot.busy and not slot.offer("r6", 6)
    assert slot.release() == "r6" and not slot.busy
    slot.start("r7", 7, "q")
    assert slot.abandon() == "r7"
    slot.start("r8", 8, "q")
    slot.offer("r9", 9)
    assert slot.abandon() == "r9" and not slot.busy


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
                               model="default", prev_annotation_id=7)


@pytest.mark.parametrize("text, code", [
    ('{"type":"click","seq":true,"object_id":"a","clicks":[]}', "bad_schema"),
    ('{"type":"click","seq":1,"object_id":"","clicks":[]}', "bad_schema"),
    ('{"type":"click","seq":1,"object_id":"a","clicks":[{"x":NaN,"y":1,"positive":true}]}', "out_of_bounds"),
    ('{"type":"click","seq":1,"object_id":"a","clicks":[],"model":"w.pth"}', "unknown_model"),
    ('{"type":"click","seq":1,"object_id":"a","clicks":[],"prev_mask":{"annotation_id":0}}', "bad_schema"),
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
