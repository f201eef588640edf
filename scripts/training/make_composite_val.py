"""Write a copy-paste validation set from held-out training images (never GrabCut or Berkeley).

    PYTHONPATH=. python scripts/training/make_composite_val.py --src data/duts_val_orig --out data/duts_val_paste

Each source image, scaled to long side `--long-side`, gets the object of another source image pasted in
(`inference.training.composite.paste_object`, seeded per image, so the set is reproducible); the target is
the pasted object or the occluded original, half and half. It measures what copy-paste training is meant
to teach — telling two objects apart — on images the training never saw. Writes `OUT/images/<id>.png` and
`OUT/masks/<id>.png` (0 / 255 / 128), the layout `inference.evaluate` and the trainer's validation read, and
`OUT/targets.json` (id → "base" for the occluded original, "pasted" for the pasted object), which
`scripts/training/compare_evals.py --targets` splits comparisons by.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from inference.training.composite import PasteConfig, paste_object  # noqa: E402
from inference.training.data import IGNORE_VALUE, list_pairs, load_sample, resize_sample  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", required=True, help="images/ + masks/ folder of held-out training images")
    parser.add_argument("--out", required=True)
    parser.add_argument("--long-side", type=int, default=320)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pairs = list_pairs(args.src)
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    cfg = PasteConfig(prob=1.0, min_object_fraction=0.02)
    targets: dict[str, str] = {}
    for index, (image_path, mask_path) in enumerate(pairs):
        rng = np.random.default_rng([args.seed, index])
        base = load_sample(image_path, mask_path)
        base = resize_sample(base, args.long_side / max(base.gt.shape))
        result = base
        for _ in range(5):   # a donor whose paste leaves too small a target is replaced by another
            donor_index = (index + 1 + int(rng.integers(0, len(pairs) - 1))) % len(pairs)
            result = paste_object(base, load_sample(*pairs[donor_index]), cfg, rng)
            if result is not base:
                targets[image_path.stem] = result.target_kind
                break
        if result is base:
            continue
        mask = np.where(result.gt, 255, np.where(result.ignore, IGNORE_VALUE, 0)).astype(np.uint8)
        cv2.imwrite(str(out / "images" / f"{image_path.stem}.png"), cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(out / "masks" / f"{image_path.stem}.png"), mask)
    (out / "targets.json").write_text(json.dumps(targets, indent=0, sort_keys=True))
    print(f"{len(targets)} composites of {len(pairs)} images in {out} "
          f"({sum(k == 'base' for k in targets.values())} with the occluded original as the target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
