"""Argument types shared by the engine's command lines (`inference.evaluate`, `inference.bench`)."""
from __future__ import annotations

import argparse

__all__ = ["non_negative_int", "positive_int", "tta_scales", "zoom_skip_clicks"]


def positive_int(value: str) -> int:
    """An integer ≥ 1 (argparse type)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 1, got {value}")
    return number


def non_negative_int(value: str) -> int:
    """An integer ≥ 0 (argparse type)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {value}")
    return number


def tta_scales(value: str) -> tuple[float, ...]:
    """Extra network-input scales, comma-separated: distinct numbers in (0, 16) other than 1 (argparse type;
    the check is `PredictorConfig`'s)."""
    from inference.predictors.base import checked_tta_scales
    try:
        scales = tuple(float(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {value!r}") from None
    try:
        return checked_tta_scales(scales)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected distinct scales in (0, 16) other than 1, got {value!r}") from None


def zoom_skip_clicks(value: str) -> int:
    """ZoomIn's `skip_clicks`: an integer ≥ -1 (argparse type)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ -1, got {value!r}") from None
    if number < -1:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ -1, got {value}")
    return number
