"""Device choice and torch thread count, without process-global side effects beyond a scoped block."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch

__all__ = ["select_device", "torch_threads"]


def select_device(preference: str | torch.device | None = None) -> torch.device:
    """`None`/"auto" → CUDA when available else CPU; otherwise the named device (CUDA must exist)."""
    if preference is None or preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(preference)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {preference!r} requested but CUDA is not available")
    return device


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run a block with `torch.set_num_threads(num_threads)` and restore the previous count afterwards
    (None: leave it alone). torch's thread count is per process, so this scopes it to the block."""
    if num_threads is None:
        yield
        return
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
