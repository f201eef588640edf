"""Ultralytics YOLO segmentation labels (always a zip).

    labels/<stem>.txt   one line per separate part of every object:
                        "<class> x1 y1 x2 y2 ..." with x / width and y / height in [0, 1], 6 decimals;
                        class = the label's index among the exported labels (0-based, label order);
                        holes are kept by the same zero-width cut as the COCO polygons
    data.yaml           `names` (index: name) and `nc`; `path`/`train`/`val` point at images/
    images/<file_name>  the images, when asked for
Vertices lie on pixel corners (COCO convention), so a part's polygon scaled back by (width, height)
rasterises to the stored mask with pycocotools.
"""
from __future__ import annotations

import json

from labeling.exports.base import ExportResult, ProgressFn, ZipStream, add_image_file, export_filename
from labeling.exports.polygons import mask_to_polygons
from labeling.exports.source import ExportData, ExportImage


def yolo_lines(image: ExportImage) -> list[str]:
    """The label-file lines of one image (see the module docstring)."""
    lines = []
    for ann in image.annotations:
        for polygon in mask_to_polygons(ann.mask()):
            coords = [polygon[i] / (image.width if i % 2 == 0 else image.height) for i in range(len(polygon))]
            lines.append(f"{ann.label.index} " + " ".join(f"{v:.6f}" for v in coords))
    return lines


def data_yaml(data: ExportData) -> str:
    """The dataset description Ultralytics reads (names quoted as JSON strings, which YAML accepts)."""
    names = "".join(f"  {lab.index}: {json.dumps(lab.name)}\n" for lab in data.labels)
    return f"path: .\ntrain: images\nval: images\nnc: {len(data.labels)}\nnames:\n{names}"


def write_yolo_seg(data: ExportData, *, include_images: bool, progress: ProgressFn) -> ExportResult:
    """Write the YOLO-seg zip described in the module docstring (one image at a time)."""
    archive = ZipStream()
    total = max(data.image_count, 1)
    for done, image in enumerate(data.images(), start=1):
        lines = yolo_lines(image)
        archive.add(f"labels/{image.stem}.txt", "\n".join(lines) + ("\n" if lines else ""))
        if include_images:
            add_image_file(archive, image, "images")
        progress(min(done / total, 1.0))
    archive.add("data.yaml", data_yaml(data))
    return archive.finish(export_filename(data.project_name, "yolo-seg", "zip"))
