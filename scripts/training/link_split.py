"""Link the trainer's train / validation split of a dataset into two folders, without copying.

    PYTHONPATH=. python scripts/training/link_split.py --src ../shared/datasets/DUTS-TR-6000 \
        --train-out data/duts_train_orig --val-out data/duts_val_orig

    PYTHONPATH=. python scripts/training/link_split.py --src ../shared/datasets/COCO-multi --by-image 0.2 \
        --train-out data/coco_train --val-out data/coco_val

The split is the trainer's own (`split_pairs(list_pairs(src), n_val, seed)`, as in
`scripts/training/make_compact_dataset.py`), or with `--by-image FRACTION` that fraction of the photos held out
with all their objects (`split_pairs_by_image`; for sets of several objects per photo). Each output folder gets
`images/` and `masks/` of symbolic links to the original files, so training or validating on the originals needs
no copy of the dataset in the repository.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from inference.training.data import list_pairs, split_pairs, split_pairs_by_image  # noqa: E402


def link_pairs(pairs: list[tuple[Path, Path]], out: Path) -> None:
    """Symlink each (image, mask) pair into `out/images` and `out/masks`; an existing link is replaced."""
    for sub in ("images", "masks"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for image_path, mask_path in pairs:
        for sub, target in (("images", image_path), ("masks", mask_path)):
            link = out / sub / target.name
            link.unlink(missing_ok=True)
            link.symlink_to(target.resolve())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", required=True, help="images/ + masks/ folder")
    parser.add_argument("--train-out", required=True)
    parser.add_argument("--val-out", required=True)
    parser.add_argument("--n-val", type=int, default=300)
    parser.add_argument("--by-image", type=float, default=None, metavar="FRACTION",
                        help="hold out this fraction of the photos with all their objects (instead of --n-val)")
    parser.add_argument("--split-seed", type=int, default=0)
    args = parser.parse_args()
    pairs = list_pairs(args.src)
    train, val = (split_pairs_by_image(pairs, args.by_image, args.split_seed) if args.by_image is not None
                  else split_pairs(pairs, args.n_val, args.split_seed))
    link_pairs(train, Path(args.train_out))
    link_pairs(val, Path(args.val_out))
    print(f"{len(train)} training and {len(val)} validation pairs linked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
