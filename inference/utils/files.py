"""Reading data-set files whose symbolic links were flattened into small text files."""
from __future__ import annotations

from pathlib import Path

__all__ = ["resolve_link_file"]

_MAX_LINK_BYTES = 1024


def resolve_link_file(path: str | Path) -> Path:
    """`path`, or the file it names when it is a "link file": a small text file holding one relative path (how
    some copies of COCO-multi and DSB2018-nuclei store `images/<id>.*` → `images-unique/...` links). A real
    symbolic link is followed by the operating system and returned unchanged."""
    path = Path(path)
    try:
        if path.is_symlink() or path.stat().st_size > _MAX_LINK_BYTES:
            return path
        text = path.read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return path
    if not text or "\n" in text or "\0" in text:
        return path
    target = (path.parent / text).resolve()
    return target if target.is_file() else path
