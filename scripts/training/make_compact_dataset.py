"""Write a compact copy of an images/ + masks/ training set for the device machine (64 MiB travel limit).

    python scripts/training/make_compact_dataset.py --src ../shared/datasets/DUTS-TR-6000 --out data/duts_gpu \
        --long-side 288 --quality 65 --n-val 300

The validation split is the trainer's own (`split_pairs(list_pairs(src), n_val, seed)`), written to
`OUT/val` (long side `--val-long-side`); every other pair goes to `OUT/train`. Images are downscaled (INTER_AREA) so their long side is at
most `--long-side` and saved as WebP (about 30 % smaller than JPEG at the same quality); masks are resized with nearest neighbour (0/128/255 kept) as PNG.
`data/` is git-ignored: the copy travels only when a device call names it in `carry`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from inference.training.data import list_pairs, split_pairs  # noqa: E402


def write_pair(image_path: Path, mask_path: Path, out: Path, long_side: int, quality: int) -> None:
    """Downscale one pair into `out/images/<id>.jpg` + `out/masks/<id>.png`."""
    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    scale = long_side / max(image.shape[:2])
    if scale < 1:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(out / "images" / f"{image_path.stem}.webp"), image, [cv2.IMWRITE_WEBP_QUALITY, quality])
    cv2.imwrite(str(out / "masks" / f"{image_path.stem}.png"), mask, [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--long-side", type=int, default=320)
    parser.add_argument("--quality", type=int, default=80)
    parser.add_argument("--val-long-side", type=int, default=320)
    parser.add_argument("--n-val", type=int, default=300)
    parser.add_argument("--split-seed", type=int, default=0)
    args = parser.parse_args()
    train, val = split_pairs(list_pairs(args.src), args.n_val, args.split_seed)
    for part, pairs in (("train", train), ("val", val)):
        out = Path(args.out) / part
        (out / "images").mkdir(parents=True, exist_ok=True)
        (out / "masks").mkdir(parents=True, exist_ok=True)
        for image_path, mask_path in pairs:
            long_side = args.val_long_side if part == "val" else args.long_side
            write_pair(image_path, mask_path, out, long_side, args.quality)
        print(f"{part}: {len(pairs)} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
