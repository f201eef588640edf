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
from typing import IO

from labeling.exports.base import (ExportResult, ProgressFn, Spool, ZipStream, add_image_file, export_filename,
                                   finish, temporary_file)
from labeling.exports.polygons import mask_to_polygons
from labeling.exports.source import ExportAnnotation, ExportData, ExportImage


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class CocoJson:
    """The COCO document written entry by entry: image and annotation entries go to two spools as they come,
    `write_to` joins them into `{"info", "licenses", "images", "categories", "annotations"}`."""

    def __init__(self, data: ExportData, segmentation: str) -> None:
        if segmentation not in ("rle", "polygon"):
            raise ValueError(f"segmentation must be 'rle' or 'polygon', got {segmentation!r}")
        self.segmentation = segmentation
        self.project_name = data.project_name
        self.categories = [{"id": lab.index + 1, "name": lab.name, "supercategory": "", "color": lab.color}
                           for lab in data.labels]
        self._images, self._annotations = Spool(), Spool()
        self._image_sep = self._annotation_sep = ""

    def add_image(self, image: ExportImage) -> None:
        """One image entry and the entries of its annotations."""
        self._images.write(self._image_sep + _dump({"id": image.id, "file_name": image.file_name,
                                                    "width": image.width, "height": image.height,
                                                    "status": image.status}))
        self._image_sep = ","
        for ann in image.annotations:
            self._annotations.write(self._annotation_sep + _dump(_annotation(ann, image.id, self.segmentation)))
            self._annotation_sep = ","

    def write_to(self, out: IO[bytes]) -> None:
        """Write the whole document to `out` (the spools are deleted)."""
        now = datetime.now(timezone.utc)
        info = {"description": f"ClickLabel export of project {self.project_name}", "version": "1.0",
                "year": now.year, "date_created": now.isoformat(timespec="seconds"),
                "segmentation": self.segmentation}
        out.write(f'{{"info":{_dump(info)},"licenses":[],"images":['.encode("utf-8"))
        self._images.copy_to(out)
        out.write(f'],"categories":{_dump(self.categories)},"annotations":['.encode("utf-8"))
        self._annotations.copy_to(out)
        out.write(b"]}")


def _annotation(ann: ExportAnnotation, image_id: int, segmentation: str) -> dict:
    if segmentation == "rle":
        seg: dict | list = {"size": list(ann.rle["size"]), "counts": ann.rle["counts"]}
    else:
        seg = mask_to_polygons(ann.mask())
    return {"id": ann.id, "image_id": image_id, "category_id": ann.label.index + 1, "segmentation": seg,
            "area": ann.area, "bbox": ann.bbox, "iscrowd": 0}


def _writer(segmentation: str):
    fmt = f"coco-{segmentation}"

    def write(data: ExportData, *, include_images: bool, progress: ProgressFn) -> ExportResult:
        coco = CocoJson(data, segmentation)
        archive = ZipStream() if include_images else None
        total = max(data.image_count, 1)
        for done, image in enumerate(data.images(), start=1):
            coco.add_image(image)
            if archive is not None:
                add_image_file(archive, image, "images")
            progress(min(done / total, 1.0))
        if archive is None:
            out = temporary_file()
            coco.write_to(out)
            return finish(out, export_filename(data.project_name, fmt, "json"), "application/json")
        with archive.open("annotations/instances.json") as member:
            coco.write_to(member)
        return archive.finish(export_filename(data.project_name, fmt, "zip"))
    write.__doc__ = f"Write COCO with {segmentation} segmentations (JSON, or a zip with the images)."
    return write


write_coco_rle = _writer("rle")
write_coco_polygon = _writer("polygon")
