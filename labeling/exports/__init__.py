"""Exports of a project's annotations: `export_project(project, fmt, ...) -> ExportResult`.

Formats (registry `FORMATS`, name → writer): "coco-rle", "coco-polygon", "voc", "yolo-seg". Each writer
reads the same filtered `ExportData` (see `source.py` for names, label indices and mask decoding), one
image at a time, and streams its output to a temporary file (see `base.py`): memory stays flat with the
project's size.
Long exports run as `ExportJob`s through Celery: created by `labeling.services.exports`, run by
`labeling.tasks` through `labeling.exports.jobs`.
"""
from __future__ import annotations

from labeling.errors import ClickLabelError
from labeling.exports.base import ExportResult, FormatWriter, ProgressFn, export_filename, no_progress
from labeling.exports.coco import write_coco_polygon, write_coco_rle
from labeling.exports.source import collect
from labeling.exports.voc import write_voc
from labeling.exports.yolo import write_yolo_seg
from labeling.models import Project

FORMATS: dict[str, FormatWriter] = {
    "coco-rle": write_coco_rle,
    "coco-polygon": write_coco_polygon,
    "voc": write_voc,
    "yolo-seg": write_yolo_seg,
}

__all__ = ["FORMATS", "ExportResult", "check_format", "export_filename", "export_project"]


def check_format(fmt: str) -> str:
    """Return `fmt` when it is a known format, else raise ClickLabelError (400, "invalid_format")."""
    if fmt not in FORMATS:
        raise ClickLabelError(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.",
                              code="invalid_format", details={"formats": list(FORMATS)})
    return fmt


def export_project(project: Project, fmt: str, *, statuses: list[str] | None = None,
                   label_ids: list[int] | None = None, include_images: bool = False,
                   progress: ProgressFn = no_progress) -> ExportResult:
    """Export `project` in `fmt`, keeping images with the given statuses and annotations with the given
    label ids (None = all). Returns the result in a temporary file (the caller closes it); raises
    ClickLabelError on bad format or filters."""
    writer = FORMATS[check_format(fmt)]
    data = collect(project, statuses=statuses, label_ids=label_ids)
    return writer(data, include_images=bool(include_images), progress=progress)
