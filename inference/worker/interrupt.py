"""Cooperative interruption of the engine thread: a running prediction stops between two layers.

The worker's scheduler (`inference.worker.scheduler`) installs a checker for the thread that runs a job;
`check()` calls it, and the checker raises `Interrupted` when a click with priority arrived (a warm-up or an
older click of the same connection is running) or `JobTimeout` when the job ran past its deadline. A forward
pre-hook on every leaf module of a network (`make_interruptible`) calls `check()`, so a forward pass (and every
BRS objective evaluation, which is one) stops within one layer. In a thread without a checker, `check()` does
nothing: the evaluation and the tests run the engine unchanged.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

_local = threading.local()


class Interrupted(Exception):
    """The running job must stop now (preempted by a click, superseded by a newer click, or cancelled)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JobTimeout(Exception):
    """The running job passed its deadline."""


def set_checker(checker: Callable[[], None] | None) -> None:
    """Install `checker` for the calling thread (None removes it)."""
    _local.checker = checker


def check() -> None:
    """Raise `Interrupted` / `JobTimeout` when the calling thread's checker says so; no-op without one."""
    checker = getattr(_local, "checker", None)
    if checker is not None:
        checker()


def _hook(module: Any, args: Any) -> None:
    check()


def make_interruptible(module: Any) -> int:
    """Register `check()` as a forward pre-hook on every leaf module of torch module `module` (once per module;
    a second call does nothing). Returns the number of hooks added."""
    if module is None or getattr(module, "_clicklabel_interruptible", False):
        return 0
    count = 0
    for child in module.modules():
        if next(child.children(), None) is None:
            child.register_forward_pre_hook(_hook)
            count += 1
    module._clicklabel_interruptible = True
    return count
