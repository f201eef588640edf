"""Argument types shared by the engine's command lines (`inference.evaluate`, `inference.bench`)."""
from __future__ import annotations

import argparse

__all__ = ["positive_int", "zoom_skip_clicks"]


def positive_int(value: str) -> int:
    """An integer ≥ 1 (argparse type)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 1, got {value}")
    return number


def zoom_skip_clicks(value: str) -> int:
    """ZoomIn's `skip_clicks`: an integer ≥ -1 (argparse type)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ -1, got {value!r}") from None
    if number < -1:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ -1, got {value}")
    return number
