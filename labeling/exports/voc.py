"""Pascal-VOC-style segmentation PNGs (always a zip).

Layout:
    SegmentationClass/<stem>.png    8-bit palette PNG: value 0 = background, label i (0-based) = i + 1,
                                    palette entry = the label's colour
    SegmentationObject/<stem>.png   8-bit palette PNG: value 0 = background, object k of the image = k
                                    (1-based, annotation id order), VOC's standard colour map
    labels.txt                      one name per line; line number (from 0) = class value ("background" first)
    labelmap.txt                    CVAT-style "name:r,g,b::" lines
    instances.json                  {stem: [{"instance": k, "annotation_id", "label"}]}
    ImageSets/Segmentation/default.txt   the stems
    JPEGImages/<file_name>          the images, when asked for
Where objects overlap, the later annotation (higher id) is painted on top. At most 255 objects per image.
"""
from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image as PILImage

from labeling.errors import ClickLabelError
from labeling.exports.base import ExportResult, ProgressFn, Spool, ZipStream, add_image_file, export_filename
from labeling.exports.source import ExportData, ExportImage, ExportLabel

MAX_OBJECTS = 255


def voc_colormap(n: int = 256) -> np.ndarray:
    """uint8 (n, 3): the PASCAL VOC colour map (bit-interleaved), entry 0 black."""
    cmap = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


def class_palette(labels: list[ExportLabel]) -> list[int]:
    """A 768-int palette: 0 black, label index i at i + 1 with the label's colour."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    for lab in labels:
        palette[lab.index + 1] = lab.rgb
    return palette.reshape(-1).tolist()


def render_image_masks(image: ExportImage) -> tuple[np.ndarray, np.ndarray]:
    """(class map, instance map), both uint8 (H, W), painted in annotation order."""
    if len(image.annotations) > MAX_OBJECTS:
        raise ClickLabelError(f"Image {image.file_name} has {len(image.annotations)} objects; VOC instance PNGs "
                              f"hold at most {MAX_OBJECTS}. Export it as COCO instead.", code="export_failed")
    classes = np.zeros((image.height, image.width), dtype=np.uint8)
    instances = np.zeros_like(classes)
    for k, ann in enumerate(image.annotations, start=1):
        mask = ann.mask()
        if mask.shape != classes.shape:
            raise ClickLabelError(f"Annotation {ann.id} is {mask.shape[1]}x{mask.shape[0]}, its image "
                                  f"{image.file_name} is {image.width}x{image.height}.", code="export_failed")
        classes[mask] = ann.label.index + 1
        instances[mask] = k
    return classes, instances


def _png(values: np.ndarray, palette: list[int]) -> bytes:
    img = PILImage.frombytes("P", (values.shape[1], values.shape[0]), values.tobytes())
    img.putpalette(palette)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


def write_voc(data: ExportData, *, include_images: bool, progress: ProgressFn) -> ExportResult:
    """Write the VOC zip described in the module docstring (one image at a time)."""
    archive = ZipStream()
    cls_palette = class_palette(data.labels)
    obj_palette = voc_colormap().reshape(-1).tolist()
    index, stems = Spool(), Spool()
    index.write("{")
    total = max(data.image_count, 1)
    for done, image in enumerate(data.images(), start=1):
        classes, instances = render_image_masks(image)
        archive.add(f"SegmentationClass/{image.stem}.png", _png(classes, cls_palette), compress=False)
        archive.add(f"SegmentationObject/{image.stem}.png", _png(instances, obj_palette), compress=False)
        del classes, instances
        entries = [{"instance": k, "annotation_id": ann.id, "label": ann.label.name}
                   for k, ann in enumerate(image.annotations, start=1)]
        index.write(("\n" if done == 1 else ",\n") + json.dumps(image.stem) + ": " + json.dumps(entries))
        stems.write(f"{image.stem}\n")
        if include_images:
            add_image_file(archive, image, "JPEGImages")
        progress(min(done / total, 1.0))
    index.write("\n}\n")
    archive.add("labels.txt", "\n".join(["background"] + [lab.name for lab in data.labels]) + "\n")
    archive.add("labelmap.txt", "# label:color_rgb:parts:actions\nbackground:0,0,0::\n" + "".join(
        f"{lab.name}:{','.join(map(str, lab.rgb))}::\n" for lab in data.labels))
    archive.add_spool("instances.json", index)
    archive.add_spool("ImageSets/Segmentation/default.txt", stems)
    return archive.finish(export_filename(data.project_name, "voc", "zip"))
