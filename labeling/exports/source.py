"""What an export contains: the project's images (filtered by status), labels (filtered) and masks.

Every format reads the same `ExportData`, so they agree on file names, label indices and masks:
- `labels` keep the project's label order; a label's index in that (filtered) list is its class:
  COCO category id = index + 1, VOC class value = index + 1 (0 = background), YOLO class = index.
- `ExportImage.file_name` is unique within the export: the original name (a relative path from a zip
  upload keeps its folders) when its extension fits the stored format, else its stem + ".jpg"/".png"; a
  stem used twice gets "__<image id>" appended. `stem` is the name without extension (VOC/YOLO files).
- Masks are decoded lazily from the stored COCO RLE; empty masks are left out.
- Images are read lazily, one at a time with their annotations (`ExportData.images()`), so a writer holds
  one image's data at a time whatever the project's size.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
from django.db.models import QuerySet

from labeling.errors import ClickLabelError
from labeling.masks import rle_to_mask
from labeling.models import Annotation, Image, ImageStatus, Label, Project

IMAGE_CHUNK = 200  # image rows read per query; annotations are read one image at a time
_EXTENSIONS_OF = {".jpg": (".jpg", ".jpeg", ".jpe"), ".png": (".png",)}


@dataclass(frozen=True)
class ExportLabel:
    """A label in the export: `index` is its position among the exported labels (0-based)."""

    index: int
    id: int
    name: str
    color: str

    @property
    def rgb(self) -> tuple[int, int, int]:
        """The label colour as (r, g, b) ints; black for malformed values."""
        text = self.color.lstrip("#")
        try:
            return tuple(int(text[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
        except ValueError:
            return (0, 0, 0)


@dataclass
class ExportAnnotation:
    """One object: its label, stored RLE (`{"size": [H, W], "counts": str}`), bbox [x, y, w, h], area."""

    id: int
    label: ExportLabel
    rle: dict
    bbox: list[float]
    area: int

    def mask(self) -> np.ndarray:
        """bool (H, W) mask decoded from the RLE."""
        return rle_to_mask(self.rle)


@dataclass
class ExportImage:
    """One image with its export name and its annotations in id order."""

    id: int
    file_name: str
    stem: str
    width: int
    height: int
    status: str
    storage_name: str
    annotations: list[ExportAnnotation] = field(default_factory=list)


@dataclass
class ExportData:
    """Everything a format writer needs: the labels now, the images one by one from `images()`."""

    project_name: str
    labels: list[ExportLabel]
    image_count: int
    image_rows: QuerySet = field(repr=False)

    def images(self) -> Iterator[ExportImage]:
        """The exported images in id order, each with its annotations (of the exported labels, id order).

        Reads images in chunks and the annotations of one image at a time; names follow the module docstring.
        Each call reads afresh.
        """
        by_label = {lab.id: lab for lab in self.labels}
        for image in _export_images(self.image_rows):
            if by_label:
                image.annotations = _annotations(image.id, by_label)
            yield image


def validate_filters(project: Project, statuses: list[str] | None,
                     label_ids: list[int] | None) -> tuple[list[str] | None, list[int] | None]:
    """Check the filters: statuses must be ImageStatus values, labels must belong to the project.

    Raises ClickLabelError (400, code "invalid_filter") naming the bad values.
    """
    if statuses:
        bad = [s for s in statuses if s not in ImageStatus.values]
        if bad:
            raise ClickLabelError(f"Unknown image status(es): {', '.join(map(str, bad))}; use "
                                  f"{', '.join(ImageStatus.values)}.", code="invalid_filter",
                                  details={"statuses": bad})
    if label_ids:
        try:
            wanted = {int(v) for v in label_ids}
        except (TypeError, ValueError):
            raise ClickLabelError("Label filters must be label ids (integers).", code="invalid_filter") from None
        known = set(Label.objects.filter(project=project, pk__in=wanted).values_list("pk", flat=True))
        if wanted - known:
            raise ClickLabelError(f"Label(s) {sorted(wanted - known)} are not labels of this project.",
                                  code="invalid_filter", details={"labels": sorted(wanted - known)})
        label_ids = sorted(wanted)
    return (list(statuses) if statuses else None), (label_ids or None)


def collect(project: Project, *, statuses: list[str] | None = None,
            label_ids: list[int] | None = None) -> ExportData:
    """The filtered export of `project`: labels and the image count now, images lazily (see ExportData)."""
    statuses, label_ids = validate_filters(project, statuses, label_ids)
    label_qs = Label.objects.filter(project=project).order_by("order", "id")
    if label_ids:
        label_qs = label_qs.filter(pk__in=label_ids)
    labels = [ExportLabel(index=i, id=lab.pk, name=lab.name, color=lab.color) for i, lab in enumerate(label_qs)]
    image_qs = Image.objects.filter(project=project).order_by("id")
    if statuses:
        image_qs = image_qs.filter(status__in=statuses)
    return ExportData(project_name=project.name, labels=labels, image_count=image_qs.count(), image_rows=image_qs)


def _annotations(image_id: int, by_label: dict[int, ExportLabel]) -> list[ExportAnnotation]:
    rows = (Annotation.objects.filter(image_id=image_id, label_id__in=list(by_label)).order_by("id")
            .values_list("id", "label_id", "rle", "bbox", "area"))
    return [ExportAnnotation(id=ann_id, label=by_label[label_id], rle=rle, bbox=[float(v) for v in bbox],
                             area=int(area))
            for ann_id, label_id, rle, bbox, area in rows if area]


def safe_relative_name(name: str) -> str:
    """A relative POSIX path without '..', empty or absolute parts ("image" when nothing is left)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    parts = ["".join(ch for ch in p if ch.isprintable() and ch not in ':*?"<>|') for p in parts]
    return "/".join(p for p in parts if p) or "image"


def _export_images(image_qs: QuerySet) -> Iterator[ExportImage]:
    used: set[str] = set()
    rows = image_qs.values_list("id", "file", "original_name", "width", "height", "status")
    for pk, file_name, original_name, width, height, status in rows.iterator(chunk_size=IMAGE_CHUNK):
        stored_ext = posixpath.splitext(file_name)[1].lower() or ".png"
        name = safe_relative_name(original_name)
        stem, ext = posixpath.splitext(name)
        if ext.lower() not in _EXTENSIONS_OF.get(stored_ext, (stored_ext,)):
            ext = stored_ext
        if stem.lower() in used:
            stem = f"{stem}__{pk}"
        used.add(stem.lower())
        yield ExportImage(id=pk, file_name=f"{stem}{ext}", stem=stem, width=width, height=height, status=status,
                          storage_name=file_name)
