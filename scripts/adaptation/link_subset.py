#!/usr/bin/env python3
"""Link a category subset of a folder data set with a manifest (COCO-multi's `manifest.csv`: `sample_id`,
`category`) into a new folder data set (`images/` + `masks/` symbolic links; nothing is copied):

    python scripts/adaptation/link_subset.py --dataset ../shared/datasets/COCO-multi --category person \
        --out var/datasets/coco-person

Image links point at the real image file (link files of the shared copies are resolved), so the objects of one
photo share one file and `manage.py adapt_simulate` splits them by image.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from inference.utils.files import resolve_link_file  # noqa: E402

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def link_subset(dataset: Path, category: str, out: Path) -> int:
    """Link every sample of `category` from `dataset` into `out`; returns the number of samples linked."""
    with open(dataset / "manifest.csv", newline="") as fh:
        ids = sorted(row["sample_id"] for row in csv.DictReader(fh) if row["category"] == category)
    if not ids:
        raise SystemExit(f"no sample of category {category!r} in {dataset / 'manifest.csv'}")
    (out / "images").mkdir(parents=True, exist_ok=False)
    (out / "masks").mkdir()
    linked = 0
    for sample in ids:
        image = next((dataset / "images" / f"{sample}{s}" for s in IMAGE_SUFFIXES
                      if (dataset / "images" / f"{sample}{s}").exists()), None)
        mask = dataset / "masks" / f"{sample}.png"
        if image is None or not mask.is_file():
            continue
        target = Path(os.path.realpath(resolve_link_file(image)))
        (out / "images" / f"{sample}{target.suffix.lower()}").symlink_to(target)
        (out / "masks" / f"{sample}.png").symlink_to(mask.resolve())
        linked += 1
    return linked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, type=Path, help="folder data set with manifest.csv")
    parser.add_argument("--category", required=True, help="the manifest's category, e.g. person")
    parser.add_argument("--out", required=True, type=Path, help="new folder (must not exist)")
    args = parser.parse_args(argv)
    count = link_subset(args.dataset.resolve(), args.category, args.out)
    print(f"linked {count} samples of {args.category!r} into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
