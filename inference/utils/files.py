"""Reading data-set files whose symbolic links were flattened into small text files."""
from __future__ import annotations

from pathlib import Path

__all__ = ["resolve_link_file"]

_MAX_LINK_BYTES = 1024


def resolve_link_file(path: str | Path) -> Path:
    """`path`, or the file it names when it is a "link file": a small text file holding one relative path (how
    some copies of COCO-multi and DSB2018-nuclei store `images/<id>.*` → `images-unique/...` links), relative
    to the link file's own folder. Symbolic links are followed first (a symlink to a link file works too)."""
    path = Path(path)
    try:
        real = path.resolve()
        if real.stat().st_size > _MAX_LINK_BYTES:
            return path
        text = real.read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return path
    if not text or "\n" in text or "\0" in text:
        return path
    target = (real.parent / text).resolve()
    return target if target.is_file() else path
