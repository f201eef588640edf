"""Argument types shared by the engine's command lines (`inference.evaluate`, `inference.bench`)."""
from __future__ import annotations

import argparse

__all__ = ["positive_int", "setting_override", "add_preset_arguments"]


def positive_int(value: str) -> int:
    """An integer ≥ 1 (argparse type)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 1, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 1, got {value}")
    return number


def setting_override(value: str) -> tuple[str, str]:
    """"NAME=VALUE" for one predictor setting (argparse type; `inference.predictors.presets.parse_override`)."""
    from inference.predictors.presets import parse_override
    try:
        return parse_override(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_preset_arguments(parser: argparse.ArgumentParser) -> None:
    """`--preset NAME` and repeatable `--set NAME=VALUE` (dest `overrides`, a list of (name, value) pairs)."""
    from inference.predictors.presets import DEFAULT_PRESET, PRESETS
    parser.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET,
                        help="; ".join(f"{name}: {preset.summary}" for name, preset in PRESETS.items())
                        + f" (default {DEFAULT_PRESET})")
    parser.add_argument("--set", type=setting_override, action="append", default=[], dest="overrides",
                        metavar="NAME=VALUE",
                        help="override one setting of the preset, e.g. lbfgs.maxfun=40, zoom_in.target_size=600, "
                             "net_clicks_limit=none, brs_warm_start=on, refine=off; repeat for several")
