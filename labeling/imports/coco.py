"""COCO files as pre-labels: the structure check, the matching to a project and the chunked creation of
the annotations.

Matching:
- category → label by name (exact, then case-insensitive); unknown names are skipped and reported;
- COCO image → project image by `file_name`: the stored original name, then the export name rules
  (`labeling.exports.source.safe_relative_name`, so a ClickLabel export imports back), then the base
  name, then the stem (".jpg" vs ".png"), each only when it names exactly one image;
- declared `width`/`height` must equal the image's size.
Segmentations: compressed RLE (`counts` str), uncompressed RLE (`counts` list), or polygons (list of
flat `[x0, y0, x1, y1, ...]` lists, pixel-corner coordinates, merged with pycocotools), all decoded by
`labeling.masks` at the matched image's size (polygons must lie within the image, RLE must cover it
exactly). Every annotation is created through `labeling.services.annotations.annotation_create`
(model_name "coco-import", mode "import").

Refused as a whole (ClickLabelError 400 "invalid_coco", before anything is written): a file that is not a
JSON object with lists `images`, `categories`, `annotations`; ids that are not integers or strings; more
annotations than CLICKLABEL_IMPORT_MAX_ANNOTATIONS (default 100,000) or polygon vertices than
CLICKLABEL_IMPORT_MAX_POINTS (default 10,000,000). Skipped and reported: everything wrong with one item,
including more polygons in one segmentation than CLICKLABEL_IMPORT_MAX_POLYGONS (default 10,000).

Annotations are written in chunks, each one short transaction (at most `CHUNK_ANNOTATIONS` annotations, about
`CHUNK_PIXELS` decoded mask pixels, `CHUNK_SECONDS` of writing); masks are decoded before it opens. On SQLite
the import pauses `SQLITE_PAUSE_SECONDS` between chunks so that annotators' saves get the write lock.
"""
from __future__ import annotations

import json
import posixpath
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from labeling.errors import ClickLabelError
from labeling.exports.source import safe_relative_name
from labeling.masks import DEFAULT_MAX_POLYGONS, InvalidMask, segmentation_to_mask
from labeling.models import Image, Label, Project
from labeling.services.annotations import annotation_create

DEFAULT_MAX_ANNOTATIONS = 100_000
DEFAULT_MAX_POINTS = 10_000_000
CHUNK_ANNOTATIONS = 50
CHUNK_PIXELS = 16_000_000
CHUNK_SECONDS = 0.1
# SQLite has one write lock and no queue: a waiting writer retries every 100 ms at most (its busy handler),
# so back-to-back chunks would starve annotators' saves. Pausing longer than that between chunks lets
# every waiting save in.
SQLITE_PAUSE_SECONDS = 0.15


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
    """What an import did. Counts are exact; the lists keep their first `list_limit` items (None: all)."""

    imported: list[ImportedAnnotation] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    matched_images: int = 0
    imported_count: int = 0
    skipped_count: int = 0
    list_limit: int | None = None

    def add_imported(self, item: ImportedAnnotation) -> None:
        """Count an imported annotation (and list it while under the limit)."""
        self.imported_count += 1
        if self.list_limit is None or len(self.imported) < self.list_limit:
            self.imported.append(item)

    def add_skipped(self, item: SkippedItem) -> None:
        """Count a skipped item (and list it while under the limit)."""
        self.skipped_count += 1
        if self.list_limit is None or len(self.skipped) < self.list_limit:
            self.skipped.append(item)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with counts; `truncated` says whether a list was cut."""
        return {"imported": [asdict(i) for i in self.imported], "skipped": [asdict(s) for s in self.skipped],
                "counts": {"imported": self.imported_count, "skipped": self.skipped_count,
                           "matched_images": self.matched_images},
                "truncated": len(self.imported) < self.imported_count or len(self.skipped) < self.skipped_count}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, list_limit: int | None = None) -> ImportReport:
        """The report stored by `to_dict` (a resumed job goes on counting from it)."""
        counts = data.get("counts", {})
        return cls(imported=[ImportedAnnotation(**i) for i in data.get("imported", [])],
                   skipped=[SkippedItem(**s) for s in data.get("skipped", [])],
                   matched_images=int(counts.get("matched_images", 0)),
                   imported_count=int(counts.get("imported", 0)), skipped_count=int(counts.get("skipped", 0)),
                   list_limit=list_limit)


@dataclass(frozen=True)
class CocoLimits:
    """Per-file caps: annotations, polygon vertices (all annotations together), polygons per segmentation."""

    max_annotations: int = DEFAULT_MAX_ANNOTATIONS
    max_points: int = DEFAULT_MAX_POINTS
    max_polygons: int = DEFAULT_MAX_POLYGONS

    @classmethod
    def from_settings(cls) -> CocoLimits:
        """CLICKLABEL_IMPORT_MAX_ANNOTATIONS / _MAX_POINTS / _MAX_POLYGONS, else the defaults."""
        return cls(max_annotations=int(getattr(settings, "CLICKLABEL_IMPORT_MAX_ANNOTATIONS", DEFAULT_MAX_ANNOTATIONS)),
                   max_points=int(getattr(settings, "CLICKLABEL_IMPORT_MAX_POINTS", DEFAULT_MAX_POINTS)),
                   max_polygons=int(getattr(settings, "CLICKLABEL_IMPORT_MAX_POLYGONS", DEFAULT_MAX_POLYGONS)))


def invalid_coco(message: str) -> ClickLabelError:
    """The 400 that refuses a whole COCO file."""
    return ClickLabelError(message, code="invalid_coco")


def coco_parse(data: bytes) -> Any:
    """Parse a COCO file's bytes (UTF-8 JSON); ClickLabelError "invalid_coco" when they are not JSON."""
    try:
        return json.loads(data)
    except RecursionError:
        raise invalid_coco("The file is not valid JSON (nested too deeply).") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, integers with too many digits
        raise invalid_coco(f"The file is not valid JSON ({exc}).") from exc


def _is_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _require_list(coco: dict, key: str) -> list:
    value = coco.get(key, [])
    if not isinstance(value, list):
        raise invalid_coco(f'COCO "{key}" must be a list.')
    return value


def _check_id(value: Any, what: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not _is_id(value):
        raise invalid_coco(f"{what} must be an integer or a string, not {type(value).__name__} ({value!r:.40}).")


def coco_check(coco: Any, limits: CocoLimits) -> None:
    """Refuse a COCO dict whose structure is wrong or over the caps (see the module docstring); per-item
    problems (unknown names, bad segmentations) are left to the import, which skips and reports them."""
    if not isinstance(coco, dict):
        raise invalid_coco("COCO data must be a JSON object with images, categories and annotations.")
    images, categories, annotations = (_require_list(coco, k) for k in ("images", "categories", "annotations"))
    if len(annotations) > limits.max_annotations:
        raise invalid_coco(f"The file has {len(annotations):,} annotations, more than the limit of "
                           f"{limits.max_annotations:,}; split it.")
    for cat in categories:
        if not isinstance(cat, dict) or "id" not in cat:
            raise invalid_coco('every category needs an "id".')
        _check_id(cat["id"], "a category id")
    for entry in images:
        if not isinstance(entry, dict) or "id" not in entry:
            raise invalid_coco('every image needs an "id".')
        _check_id(entry["id"], "an image id")
        if not isinstance(entry.get("file_name", ""), str):
            raise invalid_coco(f"image {entry['id']!r}: file_name must be a string.")
        for key in ("width", "height"):
            value = entry.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise invalid_coco(f"image {entry['id']!r}: {key} must be an integer.")
    points = 0
    for ann in annotations:
        if not isinstance(ann, dict):
            raise invalid_coco("every annotation must be an object.")
        _check_id(ann.get("id"), "an annotation id", optional=True)
        _check_id(ann.get("image_id"), "an annotation's image_id", optional=True)
        _check_id(ann.get("category_id"), "an annotation's category_id", optional=True)
        segmentation = ann.get("segmentation")
        if isinstance(segmentation, list):
            points += sum(len(p) // 2 for p in segmentation if isinstance(p, list))
            if points > limits.max_points:
                raise invalid_coco(f"The file's polygons have more than {limits.max_points:,} points, the limit; "
                                   "split it.")


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


class CocoPlan:
    """A checked COCO dict matched to a project: label per category id, image per COCO image id, and the
    categories and images that did not match (`skipped`)."""

    def __init__(self, project: Project, coco: dict) -> None:
        self.skipped: list[SkippedItem] = []
        labels = list(Label.objects.filter(project=project))
        exact = {lab.name: lab for lab in labels}
        folded: dict[str, Label] = {}
        for lab in labels:
            folded.setdefault(lab.name.casefold(), lab)
        self.labels: dict[Any, Label | None] = {}
        for cat in coco.get("categories", []):
            name = str(cat.get("name", ""))
            label = exact.get(name) or folded.get(name.casefold())
            self.labels[cat["id"]] = label
            if label is None:
                self.skipped.append(SkippedItem(f"category {cat['id']}", f"no label named '{name}' in the project"))
        index = _ImageIndex(project)
        self.images: dict[Any, Image | None] = {entry["id"]: self._match(entry, index)
                                                for entry in coco.get("images", [])}
        self.matched_images = sum(1 for image in self.images.values() if image is not None)

    def _match(self, entry: dict, index: _ImageIndex) -> Image | None:
        ref = f"image {entry['id']}"
        name = entry.get("file_name", "")
        image = index.find(name) if name else None
        if image is None:
            self.skipped.append(SkippedItem(ref, f"no image named '{name}' in the project (or the name is ambiguous)"))
            return None
        width, height = entry.get("width"), entry.get("height")
        if (width is not None and width != image.width) or (height is not None and height != image.height):
            self.skipped.append(SkippedItem(ref, f"'{name}' is {width}x{height} in the file but {image.width}x"
                                            f"{image.height} in the project"))
            return None
        return image

    def start(self, report: ImportReport) -> None:
        """Put the matching's results into a fresh report."""
        report.matched_images = self.matched_images
        for item in self.skipped:
            report.add_skipped(item)


@dataclass(frozen=True)
class _Ready:
    """One annotation decoded and ready to be written."""

    coco_id: Any
    image: Image
    label: Label
    mask: np.ndarray


def _prepare(ann: dict, plan: CocoPlan, limits: CocoLimits) -> _Ready | SkippedItem:
    ref = f"annotation {ann.get('id', '?')}"
    if ann.get("image_id") not in plan.images:
        return SkippedItem(ref, f"refers to image id {ann.get('image_id')!r}, not in the file")
    image = plan.images[ann["image_id"]]
    if image is None:
        return SkippedItem(ref, "its image was not matched")
    label = plan.labels.get(ann.get("category_id"))
    if label is None:
        return SkippedItem(ref, f"category {ann.get('category_id')!r} has no matching label")
    try:
        mask = segmentation_to_mask(ann.get("segmentation"), height=image.height, width=image.width,
                                    max_polygons=limits.max_polygons)
    except InvalidMask as exc:
        return SkippedItem(ref, exc.message)
    if not mask.any():
        return SkippedItem(ref, "the mask is empty")
    return _Ready(coco_id=ann.get("id"), image=image, label=label, mask=mask)


ChunkDone = Callable[[int, ImportReport], None]


def coco_import_run(*, coco: dict, plan: CocoPlan, user: Any, report: ImportReport, limits: CocoLimits,
                    start: int = 0, on_chunk: ChunkDone | None = None) -> ImportReport:
    """Create the annotations of `coco["annotations"][start:]` (a dict already passed by `coco_check`) in
    chunks: up to `CHUNK_ANNOTATIONS` masks (about `CHUNK_PIXELS` pixels) are decoded first, then written in
    one transaction that closes after `CHUNK_SECONDS` (what is left goes to the next one). Inside each
    transaction `on_chunk(next_index, report)` runs (a job records its cursor there, so a resumed job
    neither skips nor repeats an annotation). Returns `report`, updated."""
    annotations = coco.get("annotations", [])
    index = start
    ready: deque[tuple[int, _Ready | SkippedItem]] = deque()
    while index < len(annotations) or ready:
        pixels = sum(item.mask.size for _, item in ready if isinstance(item, _Ready))
        while index < len(annotations) and len(ready) < CHUNK_ANNOTATIONS and pixels < CHUNK_PIXELS:
            item = _prepare(annotations[index], plan, limits)
            pixels += item.mask.size if isinstance(item, _Ready) else 0
            ready.append((index, item))
            index += 1
        opened = time.monotonic()
        with transaction.atomic():
            while ready:
                position, item = ready.popleft()
                _write(item, user, report)
                written = position + 1
                if time.monotonic() - opened > CHUNK_SECONDS:
                    break
            if on_chunk is not None:
                on_chunk(written, report)
        if connection.vendor == "sqlite" and (index < len(annotations) or ready):
            time.sleep(SQLITE_PAUSE_SECONDS)
    return report


def _write(item: _Ready | SkippedItem, user: Any, report: ImportReport) -> None:
    if isinstance(item, SkippedItem):
        report.add_skipped(item)
        return
    created = annotation_create(image=item.image, user=user, label=item.label, mask=item.mask, clicks=[],
                                model_name="coco-import", mode="import")
    report.add_imported(ImportedAnnotation(coco_id=item.coco_id, annotation_id=created.pk, image_id=item.image.pk,
                                           label=item.label.name))
