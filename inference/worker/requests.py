"""The task payloads exchanged between the web side and the click workers (JSON-serialisable dicts).

Both sides import this module (it needs neither Django nor torch): the consumer builds payloads with
`ClickRequest.to_task()`, the worker parses them with `ClickRequest.from_task()`, which validates
again so a worker never trusts its queue. Coordinates are (x, y) in original-image pixels.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: every mode the engine offers (docs/contracts.md); "grabcut" needs no model
MODES: tuple[str, ...] = ("nobrs", "rgb-brs", "distmap-brs", "f-brs-a", "f-brs-b", "f-brs-c", "grabcut")
MAX_CLICKS = 100
MAX_OBJECT_ID_LEN = 64


class RequestError(ValueError):
    """A payload that breaks the schema; `code` is the websocket error code to report."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImageRef:
    """Where the worker finds the image: its id, a local file path and its size in pixels; with remote media
    storage (S3) the path is "" and `url` is a URL the worker downloads the bytes from (a presigned GET)."""

    id: int
    path: str
    width: int
    height: int
    url: str = ""

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> "ImageRef":
        """Parse {"id", "path", "width", "height", "url"?}; KeyError / TypeError / ValueError when malformed."""
        return cls(id=int(data["id"]), path=str(data["path"]), width=int(data["width"]),
                   height=int(data["height"]), url=str(data.get("url") or ""))


@dataclass(frozen=True)
class PrevMask:
    """An existing annotation's mask to correct: its id and COCO RLE ({"size": [H, W], "counts"})."""

    annotation_id: int
    rle: dict


@dataclass(frozen=True)
class ClickRequest:
    """One latest-wins click request: the full click list of one object at sequence number `seq`."""

    sid: str                       # websocket connection id (latest-wins key)
    session: str                   # annotation session (user + image), the unit of worker placement
    reply_channel: str             # channel-layer name of the consumer
    seq: int
    object_id: str
    clicks: tuple[tuple[float, float, bool], ...]   # (x, y, positive) in image pixels
    image: ImageRef
    model: str
    mode: str
    prev_mask: PrevMask | None = None
    steps: tuple[int, ...] = ()    # click counts after which the network predicted (inference.worker.live_session)
    sent_at: float = 0.0           # unix time the consumer dispatched it (for queue-wait stats)
    extra: dict = field(default_factory=dict)

    def to_task(self) -> dict[str, Any]:
        """JSON-serialisable kwargs for the Celery task."""
        data = asdict(self)
        data["clicks"] = [{"x": x, "y": y, "positive": p} for x, y, p in self.clicks]
        data["steps"] = list(self.steps)
        return data

    @classmethod
    def from_task(cls, data: dict[str, Any]) -> "ClickRequest":
        """Parse and validate a task payload; raises RequestError with a websocket error code."""
        try:
            image = ImageRef.from_payload(data["image"])
            prev = data.get("prev_mask")
            prev_mask = PrevMask(int(prev["annotation_id"]), dict(prev["rle"])) if prev else None
            clicks = parse_clicks(data["clicks"], image.width, image.height)
            steps = parse_steps(data.get("steps") or [], len(clicks))
            mode = str(data["mode"])
            if mode not in MODES:
                raise RequestError("unknown_mode", f"unknown mode {mode!r}; one of {', '.join(MODES)}")
            return cls(sid=str(data["sid"]), session=str(data["session"]), reply_channel=str(data["reply_channel"]),
                       seq=int(data["seq"]), object_id=str(data["object_id"]), clicks=clicks, image=image,
                       model=str(data["model"]), mode=mode, prev_mask=prev_mask, steps=steps,
                       sent_at=float(data.get("sent_at") or 0.0), extra=dict(data.get("extra") or {}))
        except RequestError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise RequestError("bad_request", f"malformed click request: {exc!r}") from exc


def parse_clicks(raw: Any, width: int, height: int) -> tuple[tuple[float, float, bool], ...]:
    """[{"x", "y", "positive"}, ...] -> ((x, y, positive), ...) checked against the image size.

    x must lie in [0, width), y in [0, height); at most MAX_CLICKS clicks; positive must be a bool.
    """
    if not isinstance(raw, list):
        raise RequestError("bad_schema", "clicks must be a list")
    if len(raw) > MAX_CLICKS:
        raise RequestError("too_many_clicks", f"at most {MAX_CLICKS} clicks per object, got {len(raw)}")
    out = []
    for i, click in enumerate(raw):
        if not isinstance(click, dict) or set(click) - {"x", "y", "positive"} or not {"x", "y", "positive"} <= set(click):
            raise RequestError("bad_schema", f"click {i} must be {{'x', 'y', 'positive'}}")
        x, y, positive = click["x"], click["y"], click["positive"]
        if not isinstance(positive, bool):
            raise RequestError("bad_schema", f"click {i}: positive must be true or false")
        if isinstance(x, bool) or isinstance(y, bool) or not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
            raise RequestError("bad_schema", f"click {i}: x and y must be numbers")
        if not (0 <= x < width and 0 <= y < height):
            raise RequestError("out_of_bounds", f"click {i} at ({x}, {y}) is outside the {width}x{height} image")
        out.append((float(x), float(y), positive))
    return tuple(out)


def parse_steps(raw: Any, n_clicks: int) -> tuple[int, ...]:
    """[s1, s2, ...] -> (s1, s2, ...): strictly increasing integers in [1, n_clicks] (the click counts after which
    the network predicted; docs/live_protocol.md, "Masks are a function of the clicks")."""
    if not isinstance(raw, list):
        raise RequestError("bad_schema", "steps must be a list of click counts")
    if len(raw) > MAX_CLICKS:
        raise RequestError("bad_schema", f"at most {MAX_CLICKS} steps")
    out: list[int] = []
    for step in raw:
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= n_clicks:
            raise RequestError("bad_schema", f"steps must be integers in [1, {n_clicks}] (the number of clicks)")
        if out and step <= out[-1]:
            raise RequestError("bad_schema", "steps must be strictly increasing")
        out.append(step)
    return tuple(out)
