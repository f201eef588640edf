"""The held-out split of a project's accepted objects: by image, seeded, stable from round to round.

Every image gets a fixed pseudo-random rank from (seed, image key). An image assigned in an earlier round keeps
its side. New images are taken in rank order: each goes to the held-out side while that side holds fewer than
max(min_heldout_objects, heldout_fraction × all objects) objects, to training otherwise. So a later round
never trains on an object an earlier round held out, and the held-out side keeps at least its share.
"""
from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

__all__ = ["ObjectRef", "Split", "TooFewObjects", "split_objects", "check_sizes", "image_rank"]


@dataclass(frozen=True)
class ObjectRef:
    """One accepted object: `object_id` (unique, safe as a file name), `image_key` (shared by the objects of one
    image), the image file and its 8-bit mask file (0 background, 255 object, 128 ignore)."""

    object_id: str
    image_key: str
    image_path: Path
    mask_path: Path


@dataclass(frozen=True)
class Split:
    """Image keys on each side, the seed that ranked them."""

    seed: int
    heldout_images: tuple[str, ...]
    train_images: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """{"seed", "heldout_images", "train_images"} (sorted lists)."""
        return {"seed": self.seed, "heldout_images": sorted(self.heldout_images),
                "train_images": sorted(self.train_images)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Split":
        """The inverse of `to_json`; ValueError when an image is on both sides."""
        split = cls(int(data["seed"]), tuple(map(str, data.get("heldout_images", ()))),
                    tuple(map(str, data.get("train_images", ()))))
        both = set(split.heldout_images) & set(split.train_images)
        if both:
            raise ValueError(f"images on both sides of the split: {sorted(both)[:5]}")
        return split

    def parts(self, objects: Iterable[ObjectRef]) -> tuple[list[ObjectRef], list[ObjectRef]]:
        """(train objects, held-out objects) of `objects`; objects of images on neither side are left out."""
        held, train = set(self.heldout_images), set(self.train_images)
        items = list(objects)
        return [o for o in items if o.image_key in train], [o for o in items if o.image_key in held]


class TooFewObjects(ValueError):
    """The accepted objects do not make a held-out part and a training part of the required sizes."""


def image_rank(seed: int, image_key: str) -> str:
    """The image's fixed pseudo-random rank (a hex digest; smaller ranks are drawn first)."""
    return hashlib.sha256(f"{seed}:{image_key}".encode()).hexdigest()


def split_objects(objects: Iterable[ObjectRef], *, seed: int, heldout_fraction: float, min_heldout_objects: int,
                  previous: Split | None = None) -> Split:
    """Assign every image of `objects` to a side (see the module docstring); `previous` (same seed) is kept."""
    counts = Counter(o.image_key for o in objects)
    total = sum(counts.values())
    target = max(min_heldout_objects, math.ceil(heldout_fraction * total))
    seed = previous.seed if previous is not None else seed
    held = [k for k in (previous.heldout_images if previous else ()) if k in counts]
    train = [k for k in (previous.train_images if previous else ()) if k in counts]
    assigned = set(held) | set(train)
    held_count = sum(counts[k] for k in held)
    for key in sorted((k for k in counts if k not in assigned), key=lambda k: image_rank(seed, k)):
        if held_count < target:
            held.append(key)
            held_count += counts[key]
        else:
            train.append(key)
    # keep the images of earlier rounds that are not accepted any more: they may come back
    if previous is not None:
        held += [k for k in previous.heldout_images if k not in counts]
        train += [k for k in previous.train_images if k not in counts]
    return Split(seed, tuple(held), tuple(train))


def check_sizes(train: list[ObjectRef], heldout: list[ObjectRef], *, heldout_fraction: float,
                min_heldout_objects: int, min_train_objects: int) -> None:
    """TooFewObjects (with a message a manager can act on) unless the held-out part has at least
    `min_heldout_objects` objects and `heldout_fraction` of all, and the training part `min_train_objects`."""
    total = len(train) + len(heldout)
    needed = min_heldout_objects + min_train_objects
    if total < needed:
        raise TooFewObjects(f"too few accepted objects: {total}; a round needs at least {needed} "
                            f"({min_heldout_objects} held out for the evaluation + {min_train_objects} to train on)")
    if len(heldout) < min_heldout_objects or len(heldout) < heldout_fraction * total:
        raise TooFewObjects(f"the held-out images hold {len(heldout)} of {total} objects; at least "
                            f"{max(min_heldout_objects, math.ceil(heldout_fraction * total))} are needed "
                            f"(accept more images)")
    if len(train) < min_train_objects:
        raise TooFewObjects(f"only {len(train)} objects are left to train on after holding out {len(heldout)}; "
                            f"a round needs {min_train_objects} (accept more images)")
