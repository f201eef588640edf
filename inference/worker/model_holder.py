"""Per-process holder of loaded networks: one load per (name, device), GrabCut when weights are missing.

Names resolve through `inference.model_zoo.load_model` (registered names or checkpoint paths); a project's
adapted model `project-<id>-v<n>` is the file `models/project-<id>/v<n>.pth` under the media folder
(`inference.adaptation.names.media_root`), loaded weights-only like every checkpoint. Every loaded network
gets the interruption hooks of `inference.worker.interrupt` (no effect outside the worker's scheduler threads).
Extra names can be registered for a worker with the environment variable
`CLICKLABEL_WORKER_MODELS="name=/path/ckpt.pth;other=/path2.pth"` (used by tests and benchmarks).
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from inference.adaptation.names import version_file
from inference.worker.interrupt import make_interruptible
from inference.worker.requests import RequestError

log = logging.getLogger(__name__)

ENV_EXTRA_MODELS = "CLICKLABEL_WORKER_MODELS"


def parse_extra_models(spec: str) -> dict[str, str]:
    """"a=/p1;b=/p2" -> {"a": "/p1", "b": "/p2"}; raises ValueError on an entry without '='."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, sep, path = part.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ValueError(f"bad model entry {part!r}; expected name=/path/to/checkpoint.pth")
        out[name.strip()] = path.strip()
    return out


@dataclass(frozen=True)
class Resolved:
    """The model to run: `model` is a LoadedModel or None (GrabCut), `fallback` says weights were missing."""

    model: Any
    mode: str
    fallback: bool = False
    reason: str = ""


class ModelHolder:
    """Loads each model once per process and remembers which names have no weights."""

    def __init__(self, device: str | None = None, extra: dict[str, str] | None = None) -> None:
        self.device = device or os.environ.get("CLICKLABEL_WORKER_DEVICE") or None
        self.extra = dict(extra) if extra is not None else parse_extra_models(os.environ.get(ENV_EXTRA_MODELS, ""))
        self._models: dict[str, Any] = {}
        self._missing: dict[str, str] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str, mode: str) -> Resolved:
        """The model for (name, mode); mode "grabcut" or missing weights -> Resolved(None, "grabcut")."""
        if mode == "grabcut":
            return Resolved(None, "grabcut")
        with self._lock:
            if name in self._missing:
                return Resolved(None, "grabcut", True, self._missing[name])
            model = self._models.get(name)
            if model is None:
                from inference.catalog import COMBINED_MODELS
                from inference.model_zoo import MODEL_REGISTRY, MissingWeightsError, load_model

                known = {*MODEL_REGISTRY, *COMBINED_MODELS, *self.extra}
                version = version_file(name)   # a project's adapted model: a file in media storage
                if version is not None and not version.is_file():
                    raise RequestError("unknown_model", f"no model version {name!r}")
                if version is None and not self.is_path(name) and name not in known:
                    raise RequestError("unknown_model", f"no model named {name!r}; registered: "
                                                        f"{', '.join(sorted(known))}")

                try:
                    model = load_model(version or self.extra.get(name, name), device=self.device)
                except MissingWeightsError as exc:
                    log.warning("model %r has no weights, falling back to GrabCut: %s", name, exc)
                    self._missing[name] = ("no weights for the project's checkpoint on the worker" if self.is_path(name)
                                           else f"no weights for model {name!r} on the worker")  # no host path
                    return Resolved(None, "grabcut", True, self._missing[name])
                make_interruptible(getattr(model, "net", model))   # a forward pass stops between layers on demand
                self._models[name] = model
        return Resolved(model, mode)

    @staticmethod
    def is_path(name: str) -> bool:
        """Checkpoint paths (only ever from a project's settings; clients may send names only)."""
        return "/" in name or "\\" in name or name.endswith((".pth", ".pt"))

    def device_name(self, resolved: Resolved) -> str:
        """The device a resolved model runs on ("cpu" for GrabCut)."""
        if resolved.model is None:
            return "cpu"
        return str(getattr(resolved.model, "device", self.device or "cpu"))

    @property
    def loaded(self) -> list[str]:
        return sorted(self._models)
