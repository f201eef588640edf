"""Peak Python + numpy memory of one call, measured with `tracemalloc` (numpy reports its buffers to it)."""
from __future__ import annotations

import tracemalloc
from typing import Any, Callable

MB = 1024 * 1024


def peak_bytes(fn: Callable[[], Any]) -> tuple[int, Any, BaseException | None]:
    """Run `fn()` under tracemalloc; return (peak bytes allocated during the call, its result or None,
    the exception it raised or None)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result, error = None, None
    try:
        result = fn()
    except BaseException as exc:  # noqa: BLE001 - the caller asserts on it
        error = exc
    peak = tracemalloc.get_traced_memory()[1] - base
    if not was_tracing:
        tracemalloc.stop()
    return max(peak, 0), result, error
