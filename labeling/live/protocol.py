"""Parse and validate client -> server websocket messages (docs/live_protocol.md).

Every refusal is a `ProtocolError(code, message)`; the consumer turns it into
`{"type": "error", "seq"?, "code", "message"}` and keeps the connection.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from inference.worker.requests import MAX_CLICKS, MAX_OBJECT_ID_LEN, MODES, RequestError, parse_clicks, parse_steps

MAX_MESSAGE_BYTES = 64 * 1024
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")   # registered names only, never paths
MAX_SEQ = 2**53


class ProtocolError(ValueError):
    """A refused message; `code` is the error code sent to the client, `seq` when known."""

    def __init__(self, code: str, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.seq = code, message, seq


@dataclass(frozen=True)
class ClickMessage:
    seq: int
    object_id: str
    clicks: tuple[tuple[float, float, bool], ...]    # (x, y, positive) in image pixels
    mode: str | None
    model: str | None
    prev_annotation_id: int | None
    steps: tuple[int, ...] = ()                      # click counts after which the network predicted


@dataclass(frozen=True)
class PrefetchMessage:
    image_id: int


@dataclass(frozen=True)
class PingMessage:
    pass


Message = ClickMessage | PrefetchMessage | PingMessage


def decode(text: str | None, binary: bytes | None) -> dict:
    """Raw frame -> JSON object; refuses binary frames, frames over 64 KiB and non-JSON text."""
    if binary is not None:
        raise ProtocolError("bad_frame", "binary frames are not accepted; send JSON text")
    if text is None:
        raise ProtocolError("bad_frame", "empty frame")
    if len(text) > MAX_MESSAGE_BYTES or len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"messages are limited to {MAX_MESSAGE_BYTES} bytes")
    try:
        data = json.loads(text)
    except RecursionError:     # "[[[[…" : the decoder's nesting limit, not a crash of the consumer
        raise ProtocolError("not_json", "message is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and integers longer than Python's conversion limit
        raise ProtocolError("not_json", f"message is not JSON: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_schema", "message must be a JSON object")
    return data


def _int(data: dict, key: str, *, seq: int | None = None, minimum: int = 0) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value < MAX_SEQ:
        raise ProtocolError("bad_schema", f"{key!r} must be an integer >= {minimum}", seq)
    return value


def _allowed(data: dict, keys: set[str], seq: int | None = None) -> None:
    extra = set(data) - keys
    if extra:
        raise ProtocolError("bad_schema", f"unexpected fields: {', '.join(sorted(extra))}", seq)


def parse_click(data: dict, width: int, height: int) -> ClickMessage:
    """Validate a `click` message against the image size (clicks (x, y) in [0, width) × [0, height))."""
    seq = data.get("seq") if isinstance(data.get("seq"), int) and not isinstance(data.get("seq"), bool) else None
    seq = _int(data, "seq", seq=seq)
    _allowed(data, {"type", "seq", "object_id", "clicks", "mode", "model", "prev_mask", "steps"}, seq)
    object_id = data.get("object_id")
    if not isinstance(object_id, str) or not 0 < len(object_id) <= MAX_OBJECT_ID_LEN:
        raise ProtocolError("bad_schema", f"object_id must be a string of 1..{MAX_OBJECT_ID_LEN} characters", seq)
    if isinstance(data.get("clicks"), list) and len(data["clicks"]) > MAX_CLICKS:
        raise ProtocolError("too_many_clicks", f"at most {MAX_CLICKS} clicks per object", seq)
    try:
        clicks = parse_clicks(data.get("clicks"), width, height)
        steps = parse_steps(data.get("steps", []), len(clicks))
    except RequestError as exc:
        raise ProtocolError(exc.code, exc.message, seq) from exc
    mode = data.get("mode")
    if mode is not None and mode not in MODES:
        raise ProtocolError("unknown_mode", f"unknown mode {mode!r}; one of {', '.join(MODES)}", seq)
    model = data.get("model")
    if model is not None and (not isinstance(model, str) or not MODEL_NAME.match(model)
                              or model.endswith((".pth", ".pt"))):
        raise ProtocolError("unknown_model", "model must be a registered model name", seq)
    prev = data.get("prev_mask")
    prev_id = None
    if prev is not None:
        if not isinstance(prev, dict) or set(prev) != {"annotation_id"}:
            raise ProtocolError("bad_schema", "prev_mask must be {'annotation_id': int}", seq)
        prev_id = _int(prev, "annotation_id", seq=seq, minimum=1)
    return ClickMessage(seq=seq, object_id=object_id, clicks=clicks, mode=mode, model=model,
                        prev_annotation_id=prev_id, steps=steps)


def parse_prefetch(data: dict, width: int, height: int) -> PrefetchMessage:
    _allowed(data, {"type", "image_id"})
    return PrefetchMessage(image_id=_int(data, "image_id", minimum=1))


def parse_ping(data: dict, width: int, height: int) -> PingMessage:
    _allowed(data, {"type"})
    return PingMessage()


PARSERS: dict[str, Callable[[dict, int, int], Any]] = {
    "click": parse_click,
    "prefetch": parse_prefetch,
    "ping": parse_ping,
}


def parse(data: dict, width: int, height: int) -> Message:
    """JSON object -> typed message, by its "type" (registry PARSERS)."""
    kind = data.get("type")
    parser = PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}; one of {', '.join(PARSERS)}")
    return parser(data, width, height)
