"""Argument types shared by the engine's command lines (`inference.evaluate`, `inference.bench`)."""
from __future__ import annotations

import argparse
from typing import Callable

__all__ = ["non_negative_int", "positive_int", "tta_scales", "zoom_skip_clicks"]


def positive_int(value: str) -> int:
    """An integer ≥ 1 (argparse type)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 1, got {value}")
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


def _int_at_least(minimum: int, name: str, doc: str) -> Callable[[str], int]:
    """An argparse type for integers ≥ `minimum` whose errors say so (also for text that is no integer)."""
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer ≥ {minimum}, got {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer ≥ {minimum}, got {value}")
        return number

    parse.__name__, parse.__doc__ = name, doc
    return parse


non_negative_int = _int_at_least(0, "non_negative_int", "An integer ≥ 0 (argparse type).")
zoom_skip_clicks = _int_at_least(-1, "zoom_skip_clicks", "ZoomIn's `skip_clicks`: an integer ≥ -1 (argparse type).")
