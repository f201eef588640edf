"""Per-connection rate limiting: a token bucket for messages and a strike counter for abuse."""
from __future__ import annotations

import time
from collections import deque
from typing import Callable

Clock = Callable[[], float]


class TokenBucket:
    """Allows `rate` messages per second on average with bursts up to `burst`."""

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = float(burst)
        self._last = clock()

    def take(self) -> bool:
        """Consume one token; False when the bucket is empty (the message must be refused)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class StrikeCounter:
    """Counts refused messages in a sliding window; `abusive` once more than `limit` in `window_s`."""

    def __init__(self, limit: int, window_s: float, clock: Clock = time.monotonic) -> None:
        self.limit, self.window_s, self._clock = limit, window_s, clock
        self._times: deque[float] = deque()

    def strike(self) -> bool:
        """Record one refused message; returns True when the connection has become abusive."""
        now = self._clock()
        self._times.append(now)
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()
        return len(self._times) > self.limit
