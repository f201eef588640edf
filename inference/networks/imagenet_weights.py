"""Where the ImageNet backbone weights live: files inside pip-installed packages, or an override path."""
from __future__ import annotations

import importlib
import os
from pathlib import Path


def installed_weights_path(env_var: str, package: str, relative: str, label: str, install: str) -> Path:
    """The weights file `relative` inside the installed `package`, or the path in `env_var` when set.

    Raises FileNotFoundError naming `label` (e.g. "ImageNet MobileNetV2 weights") and the `install`
    command when the package is missing, or the path when the file is."""
    override = os.environ.get(env_var)
    if override:
        path = Path(override)
    else:
        try:
            module = importlib.import_module(package)
        except ImportError as exc:
            raise FileNotFoundError(f"{label} not installed: run `{install}`") from exc
        path = Path(module.__file__).parent / relative
    if not path.is_file():
        raise FileNotFoundError(f"{label} missing at {path}")
    return path
