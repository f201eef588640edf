"""Data sets whose `images/` links were flattened into small text files (the shared COCO-multi and DSB2018 copies)."""
from __future__ import annotations

import cv2
import numpy as np

from inference.evaluation.datasets import open_dataset
from inference.training.data import load_sample
from inference.utils.files import resolve_link_file


def _link_file_set(root):
    """images/a.png is a text file naming ../images-unique/u.png; masks/a.png is a real mask."""
    (root / "images").mkdir(parents=True)
    (root / "images-unique").mkdir()
    (root / "masks").mkdir()
    image = np.zeros((12, 16, 3), np.uint8)
    image[:, :, 2] = 200                                   # red in BGR order
    cv2.imwrite(str(root / "images-unique" / "u.png"), image)
    (root / "images" / "a.png").write_text("../images-unique/u.png")
    mask = np.zeros((12, 16), np.uint8)
    mask[3:9, 4:12] = 255
    cv2.imwrite(str(root / "masks" / "a.png"), mask)
    return root


def test_link_files_are_followed_by_the_evaluation_and_the_trainer(tmp_path):
    root = _link_file_set(tmp_path / "set")
    sample = open_dataset(root)[0]
    assert sample.image.shape == (12, 16, 3) and (sample.image[..., 0] == 200).all()   # RGB
    trained = load_sample(root / "images" / "a.png", root / "masks" / "a.png")
    assert np.array_equal(trained.image, sample.image)


def test_only_small_text_files_naming_an_existing_file_are_links(tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(b"\x89PNG" + bytes(2000))
    assert resolve_link_file(real) == real                      # too large to be a link file
    dangling = tmp_path / "dangling.png"
    dangling.write_text("../nowhere.png")
    assert resolve_link_file(dangling) == dangling
    binary = tmp_path / "binary.png"
    binary.write_bytes(b"\xff\xd8\xff")
    assert resolve_link_file(binary) == binary
    link = tmp_path / "link.png"
    link.write_text("real.png\n")
    assert resolve_link_file(link) == real.resolve()


def test_a_symbolic_link_to_a_link_file_reaches_the_image(tmp_path):
    root = _link_file_set(tmp_path / "set")
    (tmp_path / "split" / "images").mkdir(parents=True)
    (tmp_path / "split" / "masks").mkdir()
    (tmp_path / "split" / "images" / "a.png").symlink_to(root / "images" / "a.png")
    (tmp_path / "split" / "masks" / "a.png").symlink_to(root / "masks" / "a.png")
    assert open_dataset(tmp_path / "split")[0].image.shape == (12, 16, 3)


def test_split_by_image_keeps_every_photo_on_one_side(tmp_path):
    from pathlib import Path

    from inference.training.data import image_of, split_pairs_by_image

    pairs = [(Path(f"images/{photo:03d}_{k}.jpg"), Path(f"masks/{photo:03d}_{k}.png"))
             for photo in range(40) for k in range(photo % 4 + 1)]
    train, val = split_pairs_by_image(pairs, 0.2, seed=0)
    assert len(train) + len(val) == len(pairs)
    assert not {image_of(p) for p in train} & {image_of(p) for p in val}
    assert len({image_of(p) for p in val}) == 8
    assert split_pairs_by_image(pairs, 0.2, seed=0) == (train, val)
    assert image_of((Path("images/abc.jpg"), None)) == "abc" and image_of((Path("images/a_b_12.png"), None)) == "a_b"
