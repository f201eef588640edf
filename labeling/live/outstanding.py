"""The newest click request of a connection, while its answer is outstanding, and what the watchdog does about it.

Every click is sent to the worker at once (the worker's scheduler keeps only the newest per connection and
interrupts an older one it is computing); the consumer only remembers the newest, to re-route it when its worker
dies and to give up on it when nothing answers."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outstanding:
    """The newest request of a connection: its seq, the worker queue it went to, when, and how often."""

    request: Any
    seq: int
    queue: str
    sent_at: float = field(default_factory=time.monotonic)    # time.monotonic() of the last dispatch
    attempts: int = 1


WAIT, CHECK, GIVE_UP = "wait", "check", "give_up"


def watchdog_step(out: Outstanding, now: float, check_after_s: float, give_up_after_s: float) -> str:
    """WAIT (young), CHECK (old enough to check its worker's heartbeat) or GIVE_UP (no answer in time)."""
    age = now - out.sent_at
    if age > give_up_after_s:
        return GIVE_UP
    return CHECK if age > check_after_s else WAIT
