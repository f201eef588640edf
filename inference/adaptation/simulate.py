"""A project simulated on a folder data set: the first N objects of whole images in a seeded order are its
accepted objects; one round (`rounds.run_round`, the code the web app's job runs) adapts the model to them."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from inference.adaptation.config import AdaptConfig
from inference.adaptation.control import Control
from inference.adaptation.folders import folder_objects
from inference.adaptation.rounds import RoundResult, run_round
from inference.adaptation.split import ObjectRef, image_rank

__all__ = ["accepted_objects", "simulate"]


def accepted_objects(objects: list[ObjectRef], count: int, seed: int) -> list[ObjectRef]:
    """`count` objects taken image by image in the seeded rank order (`split.image_rank` with seed + 1000, so
    that the choice is not the split's order); the last image may contribute part of its objects."""
    by_image: dict[str, list[ObjectRef]] = defaultdict(list)
    for obj in objects:
        by_image[obj.image_key].append(obj)
    chosen: list[ObjectRef] = []
    for key in sorted(by_image, key=lambda k: image_rank(seed + 1000, k)):
        chosen += sorted(by_image[key], key=lambda o: o.object_id)
        if len(chosen) >= count:
            break
    return chosen[:count]


def simulate(*, dataset: str | Path, accepted: int, model: str, work_dir: Path, cfg: AdaptConfig,
             control: Control | None = None) -> RoundResult:
    """Run one round on `accepted` objects of the folder data set `dataset`, starting from `model` (a
    registered name or a checkpoint path)."""
    from inference.model_zoo import resolve
    objects = accepted_objects(folder_objects(dataset), accepted, cfg.seed)
    return run_round(objects=objects, current_model=str(model), current_path=resolve(model), work_dir=work_dir,
                     cfg=cfg, control=control)
