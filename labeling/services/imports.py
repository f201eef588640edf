"""COCO import as pre-labels: masks from another tool become annotations that annotators correct.

Matching:
- category → label by name (exact, then case-insensitive); unknown names are skipped and reported;
- COCO image → project image by `file_name`: the stored original name, then the export name rules
  (`labeling.exports.source.safe_relative_name`, so a ClickLabel export imports back), then the base
  name, then the stem (".jpg" vs ".png"), each only when it names exactly one image;
- declared `width`/`height` must equal the image's size.
Segmentations: compressed RLE (`counts` str), uncompressed RLE (`counts` list), or polygons (list of
flat `[x0, y0, x1, y1, ...]` lists, pixel-corner coordinates, merged with pycocotools). Every annotation
is created through `labeling.services.annotations.annotation_create` (model_name "coco-import", mode
"import"), all in one transaction: either the whole file is imported or nothing is.
"""
from __future__ import annotations

import posixpath
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction

from labeling.errors import ClickLabelError
from labeling.exports.source import safe_relative_name
from labeling.masks import InvalidMask, segmentation_to_mask
from labeling.models import Image, Label, Project
from labeling.permissions import Action, require
from labeling.services.annotations import annotation_create


@dataclass(frozen=True)
class ImportedAnnotation:
    coco_id: Any
    annotation_id: int
    image_id: int
    label: str


@dataclass(frozen=True)
class SkippedItem:
    """Something in the COCO file that was not imported: `ref` says what ("annotation 7", "image 3")."""

    ref: str
    reason: str


@dataclass
class ImportReport:
    """What an import did."""

    imported: list[ImportedAnnotation] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    matched_images: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with counts."""
        return {"imported": [asdict(i) for i in self.imported], "skipped": [asdict(s) for s in self.skipped],
                "counts": {"imported": len(self.imported), "skipped": len(self.skipped),
                           "matched_images": self.matched_images}}


def _invalid(message: str) -> ClickLabelError:
    return ClickLabelError(message, code="invalid_coco")


def _require_list(coco: dict, key: str) -> list:
    value = coco.get(key, [])
    if not isinstance(value, list):
        raise _invalid(f'COCO "{key}" must be a list.')
    return value


class _ImageIndex:
    """Project images looked up by progressively looser names, each key used only if unambiguous."""

    def __init__(self, project: Project) -> None:
        self.tables: list[dict[str, Image | None]] = [{}, {}, {}, {}]
        for image in Image.objects.filter(project=project).order_by("id"):
            keys = self._keys(image.original_name)
            for table, key in zip(self.tables, keys):
                table[key] = None if key in table else image  # None marks an ambiguous key

    @staticmethod
    def _keys(name: str) -> tuple[str, str, str, str]:
        safe = safe_relative_name(name)
        base = safe.rsplit("/", 1)[-1].lower()
        return name, safe, base, posixpath.splitext(base)[0]

    def find(self, file_name: str) -> Image | None:
        for table, key in zip(self.tables, self._keys(file_name)):
            if table.get(key) is not None:
                return table[key]
        return None


def _label_lookup(project: Project) -> tuple[dict[str, Label], dict[str, Label]]:
    labels = list(Label.objects.filter(project=project))
    exact = {lab.name: lab for lab in labels}
    folded: dict[str, Label] = {}
    for lab in labels:
        folded.setdefault(lab.name.casefold(), lab)
    return exact, folded


@transaction.atomic
def coco_import(*, project: Project, coco: dict, user: Any) -> ImportReport:
    """Import the annotations of a COCO instance-segmentation dict into `project` as pre-labels.

    Raises ClickLabelError (400, "invalid_coco") when the file's structure is wrong, NotFound /
    PermissionDenied without the import right; per-item problems are listed in the report's `skipped`.
    """
    require(user, project, Action.IMPORT)
    if not isinstance(coco, dict):
        raise _invalid("COCO data must be a JSON object with images, categories and annotations.")
    coco_images, categories, annotations = (_require_list(coco, k) for k in ("images", "categories", "annotations"))
    report = ImportReport()
    exact, folded = _label_lookup(project)
    labels_by_cat: dict[Any, Label | None] = {}
    for cat in categories:
        if not isinstance(cat, dict) or "id" not in cat:
            raise _invalid('every category needs an "id".')
        name = str(cat.get("name", ""))
        label = exact.get(name) or folded.get(name.casefold())
        labels_by_cat[cat["id"]] = label
        if label is None:
            report.skipped.append(SkippedItem(f"category {cat['id']}", f"no label named '{name}' in the project"))
    index = _ImageIndex(project)
    images_by_id: dict[Any, Image | None] = {}
    for entry in coco_images:
        if not isinstance(entry, dict) or "id" not in entry:
            raise _invalid('every image needs an "id".')
        images_by_id[entry["id"]] = _match_image(entry, index, report)
    report.matched_images = sum(1 for img in images_by_id.values() if img is not None)
    for ann in annotations:
        if not isinstance(ann, dict):
            raise _invalid("every annotation must be an object.")
        _import_one(ann, images_by_id, labels_by_cat, user, report)
    return report


def _match_image(entry: dict, index: _ImageIndex, report: ImportReport) -> Image | None:
    ref = f"image {entry['id']}"
    name = str(entry.get("file_name", ""))
    image = index.find(name) if name else None
    if image is None:
        report.skipped.append(SkippedItem(ref, f"no image named '{name}' in the project (or the name is ambiguous)"))
        return None
    width, height = entry.get("width"), entry.get("height")
    if (width is not None and width != image.width) or (height is not None and height != image.height):
        report.skipped.append(SkippedItem(ref, f"'{name}' is {width}x{height} in the file but {image.width}x"
                                          f"{image.height} in the project"))
        return None
    return image


def _import_one(ann: dict, images_by_id: dict, labels_by_cat: dict, user: Any, report: ImportReport) -> None:
    ref = f"annotation {ann.get('id', '?')}"
    if ann.get("image_id") not in images_by_id:
        report.skipped.append(SkippedItem(ref, f"refers to image id {ann.get('image_id')!r}, not in the file"))
        return
    image = images_by_id[ann["image_id"]]
    if image is None:
        report.skipped.append(SkippedItem(ref, "its image was not matched"))
        return
    label = labels_by_cat.get(ann.get("category_id"))
    if label is None:
        report.skipped.append(SkippedItem(ref, f"category {ann.get('category_id')!r} has no matching label"))
        return
    try:
        mask = segmentation_to_mask(ann.get("segmentation"), height=image.height, width=image.width)
    except InvalidMask as exc:
        report.skipped.append(SkippedItem(ref, exc.message))
        return
    if not mask.any():
        report.skipped.append(SkippedItem(ref, "the mask is empty"))
        return
    created = annotation_create(image=image, user=user, label=label, mask=mask, clicks=[],
                                model_name="coco-import", mode="import")
    report.imported.append(ImportedAnnotation(coco_id=ann.get("id"), annotation_id=created.pk,
                                              image_id=image.pk, label=label.name))
