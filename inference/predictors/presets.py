"""Named predictor settings: `app` (what the live workers run) and `reference` (the papers' evaluation).

The live worker (`inference.worker.service`), the evaluation command (`python -m inference.evaluate --preset`)
and the bench (`python -m inference.bench --preset`) all build their `PredictorConfig` here, so "the app's
figures" are measured with exactly the app's settings. Single parameters can be overridden by name
(`apply_overrides`, the commands' `--set NAME=VALUE`): a field of `PredictorConfig`, or a field of one of its
nested settings as `zoom_in.target_size`, `lbfgs.maxfun`, `refine.radius`.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping

from inference.postprocess.guided_filter import GuidedFilterParams
from inference.predictors.base import PredictorConfig, ZoomInParams
from inference.predictors.brs import LBFGSParams

__all__ = ["Preset", "APP", "REFERENCE", "PRESETS", "DEFAULT_PRESET", "get_preset", "apply_overrides",
           "parse_override", "overridable_names"]


@dataclass(frozen=True)
class Preset:
    """A named `PredictorConfig` with per-mode departures from it."""

    name: str
    summary: str
    base: PredictorConfig
    per_mode: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def config(self, mode: str, overrides: Mapping[str, str] | None = None) -> PredictorConfig:
        """The settings of `mode` under this preset, with `overrides` (name → text value) applied."""
        config = dataclasses.replace(self.base, **self.per_mode.get(mode, {}))
        return apply_overrides(config, overrides or {})


REFERENCE = Preset(
    "reference",
    "the papers' evaluation: ZoomIn (target 400), flip, reference BRS budget, warm start, net clicks limit by "
    "mode (f-BRS 8, RGB/DistMap-BRS 5, NoBRS all), no post-processing",
    PredictorConfig())

# The app's departures from the reference were each chosen on validation data (docs/experiments.md): the guided
# filter on every map, and f-BRS-B starting each click's optimisation from the identity with every click given
# to the network. The longest side is limited to 800 px, like the reference demos.
APP = Preset(
    "app",
    "what the live workers run: the reference settings plus the colour guided filter (radius 4, eps 1e-3) and "
    "a longest side of 800 px; f-BRS-B starts every click from the identity and gives the network every click",
    PredictorConfig(max_size=800, refine=GuidedFilterParams(radius=4, eps=1e-3)),
    {"f-brs-b": {"brs_warm_start": False, "net_clicks_limit": None}})

PRESETS: dict[str, Preset] = {preset.name: preset for preset in (APP, REFERENCE)}
DEFAULT_PRESET = APP.name

_NESTED: dict[str, type] = {"zoom_in": ZoomInParams, "lbfgs": LBFGSParams, "refine": GuidedFilterParams}


def get_preset(name: str) -> Preset:
    """The preset called `name`; ValueError listing the known ones otherwise."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name]


def overridable_names() -> list[str]:
    """Every name `apply_overrides` accepts, nested fields as `parent.field`."""
    names = []
    for top in dataclasses.fields(PredictorConfig):
        names.append(top.name)
        nested = _NESTED.get(top.name)
        if nested is not None:
            names += [f"{top.name}.{f.name}" for f in dataclasses.fields(nested)]
    return names


def parse_override(text: str) -> tuple[str, str]:
    """"NAME=VALUE" → (NAME, VALUE); ValueError when there is no '=' or NAME is not an overridable setting."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not value:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    if name not in overridable_names():
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(overridable_names())}")
    return name, value


def apply_overrides(config: PredictorConfig, overrides: Mapping[str, str]) -> PredictorConfig:
    """`config` with each `name → text value` applied (see the module docstring for the names).

    Values are read by the field's type: "none"/"off" for optional settings, "on"/"off" for switches,
    numbers, "auto" for `net_clicks_limit`, "H,W" for a fixed (height, width) ZoomIn target (the reference's
    order). "zoom_in=on" and
    "refine=on" switch a setting that is off to its defaults. Raises ValueError on unknown names, unreadable
    values, or values the settings' own checks refuse.
    """
    for name, text in overrides.items():
        parse_override(f"{name}={text}")
        parent, _, child = name.partition(".")
        if not child:
            config = _replace(config, parent, text)
            continue
        current = getattr(config, parent)
        if current is None:
            raise ValueError(f"{parent} is off in this preset: set {parent}=on before {name}")
        config = _replace(config, parent, _replace(current, child, text))
    return config


def _replace(obj: Any, name: str, value: Any) -> Any:
    """`obj` (a settings dataclass) with field `name` set from `value` (text is read by the field's type)."""
    if isinstance(value, str):
        value = _read_value(typing.get_type_hints(type(obj))[name], value, name)
    try:
        return dataclasses.replace(obj, **{name: value})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {exc}") from None


def _read_value(hint: Any, text: str, name: str) -> Any:
    """`text` read as a value of type `hint` (a union of None, bool, int, float, str, a settings dataclass
    or tuple[int, int])."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    lowered = text.lower()
    if type(None) in options and lowered in {"none", "off"}:
        return None
    for option in options:
        if option in _NESTED.values() and lowered == "on":
            return option()
        if option is bool and lowered in {"on", "off", "true", "false"}:
            return lowered in {"on", "true"}
        if option is int and lowered.lstrip("-").isdigit():
            return int(lowered)
        if option is float:
            try:
                return float(lowered)
            except ValueError:
                pass
        if typing.get_origin(option) is tuple and "," in lowered:
            try:
                return tuple(int(part) for part in lowered.split(","))
            except ValueError:
                pass
        if option is str and name == "net_clicks_limit" and lowered == "auto":
            return "auto"
    raise ValueError(f"{name}: cannot read {text!r} as {hint}")
