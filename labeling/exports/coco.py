"""COCO instance segmentation JSON, with masks as compressed RLE or as polygons.

- `coco-rle`: `segmentation` is the stored compressed RLE `{"size": [H, W], "counts": str}` with
  `iscrowd` 0 (pycocotools' `annToRLE` reads it as-is; iscrowd 1 would mean "ignore region" to COCO
  evaluation, which these objects are not).
- `coco-polygon`: `segmentation` is a list of flat polygons, one per separate part, holes joined to
  their outer ring by zero-width cuts (see `labeling.exports.polygons`), so decoding with pycocotools
  gives back exactly the stored mask.
`area` is the mask's pixel count and `bbox` its [x, y, width, height] in both variants. With
`include_images` the result is a zip: `annotations/instances.json` plus `images/<file_name>`.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from labeling.exports.base import ExportResult, ProgressFn, ZipBuilder, add_images, slug
from labeling.exports.polygons import mask_to_polygons
from labeling.exports.source import ExportAnnotation, ExportData


def build_coco(data: ExportData, *, segmentation: str, progress: ProgressFn) -> dict:
    """The COCO dict. `segmentation` is "rle" or "polygon"; progress gets fractions in [0, 1]."""
    if segmentation not in ("rle", "polygon"):
        raise ValueError(f"segmentation must be 'rle' or 'polygon', got {segmentation!r}")
    categories = [{"id": lab.index + 1, "name": lab.name, "supercategory": "", "color": lab.color}
                  for lab in data.labels]
    images, annotations = [], []
    total = max(len(data.images), 1)
    for done, image in enumerate(data.images, start=1):
        images.append({"id": image.id, "file_name": image.file_name, "width": image.width,
                       "height": image.height, "status": image.status})
        for ann in image.annotations:
            annotations.append(_annotation(ann, image.id, segmentation))
        progress(done / total)
    return {
        "info": {"description": f"ClickLabel export of project {data.project_name}",
                 "version": "1.0", "year": datetime.now(timezone.utc).year,
                 "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "segmentation": segmentation},
        "licenses": [],
        "images": images,
        "categories": categories,
        "annotations": annotations,
    }


def _annotation(ann: ExportAnnotation, image_id: int, segmentation: str) -> dict:
    if segmentation == "rle":
        seg: dict | list = {"size": list(ann.rle["size"]), "counts": ann.rle["counts"]}
    else:
        seg = mask_to_polygons(ann.mask())
    return {"id": ann.id, "image_id": image_id, "category_id": ann.label.index + 1, "segmentation": seg,
            "area": ann.area, "bbox": ann.bbox, "iscrowd": 0}


def _writer(segmentation: str):
    def write(data: ExportData, *, include_images: bool, progress: ProgressFn) -> ExportResult:
        coco = build_coco(data, segmentation=segmentation, progress=progress)
        text = json.dumps(coco, separators=(",", ":"))
        base = f"{slug(data.project_name)}-coco-{segmentation}"
        if not include_images:
            return ExportResult(f"{base}.json", "application/json", text.encode("utf-8"))
        archive = ZipBuilder()
        archive.add("annotations/instances.json", text)
        add_images(archive, data, "images")
        return ExportResult(f"{base}.zip", "application/zip", archive.result())
    write.__doc__ = f"Write COCO with {segmentation} segmentations (JSON, or a zip with the images)."
    return write


write_coco_rle = _writer("rle")
write_coco_polygon = _writer("polygon")
