"""Names and files of a project's adapted models: `project-<project id>-v<number>`, stored in media storage as
`models/project-<project id>/v<number>.pth`. Shared by the web app (which writes them) and the live workers
(which load them by name: clients send names, never paths). Imports nothing heavy."""
from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["VERSION_NAME", "version_name", "parse_version_name", "version_storage_name", "media_root",
           "version_file"]

VERSION_NAME = re.compile(r"^project-([1-9][0-9]{0,11})-v([1-9][0-9]{0,5})$")
ROOT = Path(__file__).resolve().parent.parent.parent


def version_name(project_id: int, number: int) -> str:
    """"project-12-v3" for project 12, version 3."""
    return f"project-{int(project_id)}-v{int(number)}"


def parse_version_name(name: str) -> tuple[int, int] | None:
    """(project id, number) of a version name, None for any other string."""
    match = VERSION_NAME.match(name or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def version_storage_name(project_id: int, number: int) -> str:
    """The version's file name in media storage: "models/project-12/v3.pth"."""
    return f"models/project-{int(project_id)}/v{int(number)}.pth"


def media_root() -> Path:
    """The local media folder as the settings compute it (webapp/settings/base.py): $MEDIA_ROOT, else
    $CLICKLABEL_VAR_DIR/media, else var/media in the repository."""
    if os.environ.get("MEDIA_ROOT"):
        return Path(os.environ["MEDIA_ROOT"])
    return Path(os.environ.get("CLICKLABEL_VAR_DIR", ROOT / "var")) / "media"


def version_file(name: str, root: str | Path | None = None) -> Path | None:
    """The weights file a version name stands for under `root` (default `media_root()`); None when `name` is
    not a version name."""
    parsed = parse_version_name(name)
    if parsed is None:
        return None
    return Path(root if root is not None else media_root()) / version_storage_name(*parsed)
