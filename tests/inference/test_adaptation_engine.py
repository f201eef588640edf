"""The adaptation engine (inference.adaptation): the split by image and its reuse, the size guard, the promotion
rule, the names of adapted models, and real rounds on synthetic cells (train, evaluate, decide, cancel)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.adaptation.config import RULE, AdaptConfig, PromotionRule
from inference.adaptation.control import Cancelled, Control
from inference.adaptation.decide import decide
from inference.adaptation.evaluate import Figures
from inference.adaptation.folders import folder_objects
from inference.adaptation.names import parse_version_name, version_file, version_name, version_storage_name
from inference.adaptation.rounds import run_round
from inference.adaptation.simulate import accepted_objects, simulate
from inference.adaptation.split import ObjectRef, Split, TooFewObjects, check_sizes, split_objects

from blob_data import write_blob_dataset

SMOKE = AdaptConfig(budget_min=0.1, recipe="smoke", mode="nobrs", max_clicks=3, threads=1)


def _objects(counts: list[int]) -> list[ObjectRef]:
    """Objects of images img0, img1, ... with the given numbers of objects each."""
    return [ObjectRef(f"img{i}_{k}", f"img{i}", Path(f"/x/img{i}.png"), Path(f"/x/img{i}_{k}.png"))
            for i, n in enumerate(counts) for k in range(n)]


def _sides(split: Split, objects: list[ObjectRef]) -> tuple[list[ObjectRef], list[ObjectRef]]:
    return split.parts(objects)


def test_split_holds_out_whole_images_at_least_a_fifth_and_twenty_objects():
    objects = _objects([1, 2, 3, 1, 4] * 12)   # 132 objects on 60 images
    split = split_objects(objects, seed=0, heldout_fraction=0.2, min_heldout_objects=20)
    train, held = _sides(split, objects)
    assert not set(split.heldout_images) & set(split.train_images)
    assert len(train) + len(held) == len(objects), "every object is on one side"
    assert len(held) >= max(20, 0.2 * len(objects))
    assert len(held) < 0.2 * len(objects) + 4, "no more than one image past the share"
    assert split == split_objects(objects, seed=0, heldout_fraction=0.2, min_heldout_objects=20), "seeded"
    assert split.heldout_images != split_objects(objects, seed=1, heldout_fraction=0.2,
                                                 min_heldout_objects=20).heldout_images
    small = _objects([1] * 50)
    assert len(_sides(split_objects(small, seed=0, heldout_fraction=0.2, min_heldout_objects=20), small)[1]) == 20


def test_a_later_round_keeps_the_stored_split_and_its_share():
    first = _objects([2] * 30)
    split = split_objects(first, seed=3, heldout_fraction=0.2, min_heldout_objects=20)
    stored = Split.from_json(json.loads(json.dumps(split.to_json())))
    later = _objects([2] * 30 + [3] * 40)       # the same 30 images and 40 new ones
    again = split_objects(later, seed=99, heldout_fraction=0.2, min_heldout_objects=20, previous=stored)
    assert again.seed == 3, "the stored seed wins"
    assert set(split.heldout_images) <= set(again.heldout_images)
    assert set(split.train_images) <= set(again.train_images), "nothing held out before is trained on now"
    train, held = _sides(again, later)
    assert len(held) >= 0.2 * len(later)
    # an image that left (re-opened) keeps its side for when it comes back
    fewer = _objects([2] * 10)
    kept = split_objects(fewer, seed=0, heldout_fraction=0.2, min_heldout_objects=20, previous=again)
    assert set(kept.heldout_images) >= set(again.heldout_images)


def test_too_few_objects_are_refused_with_the_numbers():
    objects = _objects([1] * 30)
    split = split_objects(objects, seed=0, heldout_fraction=0.2, min_heldout_objects=20)
    train, held = split.parts(objects)
    with pytest.raises(TooFewObjects, match=r"too few accepted objects: 30; a round needs at least 40"):
        check_sizes(train, held, heldout_fraction=0.2, min_heldout_objects=20, min_train_objects=20)
    one_image = _objects([50])
    split = split_objects(one_image, seed=0, heldout_fraction=0.2, min_heldout_objects=20)
    with pytest.raises(TooFewObjects, match="left to train on"):
        check_sizes(*split.parts(one_image), heldout_fraction=0.2, min_heldout_objects=20, min_train_objects=20)


def _figures(noc85: float, noc90: float) -> Figures:
    return Figures(noc85=noc85, noc90=noc90, nof85=0, nof90=0, n=30, miou_curve=[], per_object_noc90={},
                   per_object_noc85={}, seconds=1.0)


def test_the_rule_promotes_only_a_clear_gain_that_costs_nothing_at_85():
    assert RULE == PromotionRule(margin_rel=0.05, margin_abs=0.20), "the rule fixed before measuring"
    assert RULE.margin(2.0) == pytest.approx(0.20) and RULE.margin(10.0) == pytest.approx(0.50)
    assert decide(_figures(6.0, 10.0), _figures(5.0, 9.4), RULE).promoted
    small = decide(_figures(6.0, 10.0), _figures(5.0, 9.6), RULE)
    assert not small.promoted and "less than the margin of 0.50" in small.reason
    worse85 = decide(_figures(3.0, 5.0), _figures(3.1, 4.0), RULE)
    assert not worse85.promoted and "NoC@85 got worse" in worse85.reason
    worse = decide(_figures(3.0, 5.0), _figures(3.5, 6.0), RULE)
    assert not worse.promoted and "improved by -1.00" in worse.reason


def test_adapted_model_names_map_to_media_files_and_nothing_else(tmp_path):
    assert version_name(12, 3) == "project-12-v3" and parse_version_name("project-12-v3") == (12, 3)
    assert version_storage_name(12, 3) == "models/project-12/v3.pth"
    assert version_file("project-12-v3", tmp_path) == tmp_path / "models/project-12/v3.pth"
    for name in ("default", "project-12-v3.pth", "project-1-v0", "project-0-v1", "../project-1-v1",
                 "project-1-v1/../../x", "project-01-v1", ""):
        assert parse_version_name(name) is None and version_file(name, tmp_path) is None, name


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> Path:
    """15 synthetic pictures with 3 cells each (45 objects); the pictures are shared by their objects' links."""
    return write_blob_dataset(tmp_path_factory.mktemp("cells"), 15)


def test_folder_objects_are_grouped_by_picture_and_the_accepted_choice_takes_whole_pictures(cells):
    objects = folder_objects(cells)
    assert len(objects) == 45 and len({o.image_key for o in objects}) == 15
    chosen = accepted_objects(objects, 10, seed=0)
    assert len(chosen) == 10 and len({o.image_key for o in chosen}) == 4, "3 + 3 + 3 + 1"


def test_a_round_with_too_few_objects_refuses_before_training(cells, tmp_path):
    result = simulate(dataset=cells, accepted=30, model="default", work_dir=tmp_path / "round", cfg=SMOKE)
    assert not result.promoted and result.candidate is None and result.before is None
    assert result.reason.startswith("not trained: too few accepted objects: 30")
    assert not (tmp_path / "round" / "candidate").exists()
    assert json.loads((tmp_path / "round" / "report" / "report.json").read_text())["promoted"] is False


@pytest.mark.slow
def test_a_round_adapts_to_the_cells_and_reports(cells, tmp_path):
    result = simulate(dataset=cells, accepted=45, model="default", work_dir=tmp_path / "round", cfg=SMOKE)
    data = result.to_json()
    assert data["train_objects"] + data["heldout_objects"] == 45 and data["heldout_objects"] >= 20
    assert {"noc85", "noc90", "nof90"} <= set(data["before"]) and {"noc85", "noc90", "nof90"} <= set(data["after"])
    assert data["steps"] == 4 and len(data["losses"]) == 4
    assert result.promoted, result.reason   # the default model selects far more than a cell
    assert result.after.noc90 <= result.before.noc90 - RULE.margin(result.before.noc90)
    assert result.candidate.is_file()
    for kind in ("json", "md", "png"):
        assert result.report[kind].is_file() and result.report[kind].stat().st_size > 100
    assert "| candidate |" in result.report["md"].read_text()
    import torch
    payload = torch.load(result.candidate, weights_only=True)   # the workers' loading: plain data only
    assert payload["meta"]["adapted_from"] == "clicklabel_default.pth"


@pytest.mark.slow
def test_cancelling_while_training_stops_at_the_next_step_and_writes_no_candidate(cells, tmp_path):
    stages: list[str] = []
    control = Control(cancelled=lambda: "train" in stages, report=lambda p: stages.append(p.stage), poll_s=0.0,
                      report_s=0.0)
    objects = folder_objects(cells)
    with pytest.raises(Cancelled):
        run_round(objects=objects, current_model="default",
                  current_path=Path(__file__).resolve().parents[2] / "inference/weights/clicklabel_default.pth",
                  work_dir=tmp_path / "round", cfg=SMOKE, control=control)
    run = tmp_path / "round" / "candidate" / "run"
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert {"step": 1, "stopped": True} in log, "stopped after the first step, not at the end of the budget"
    assert not any("val" in r for r in log)
    assert not (tmp_path / "round" / "candidate" / "candidate.pth").exists()


def test_the_live_worker_loads_a_version_by_name_from_media_and_refuses_a_missing_one(tmp_path, monkeypatch):
    import shutil

    from inference.worker.model_holder import ModelHolder
    from inference.worker.requests import RequestError

    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path))
    target = tmp_path / "models/project-4/v2.pth"
    target.parent.mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[2] / "inference/weights/clicklabel_default.pth", target)
    holder = ModelHolder(device="cpu", extra={})
    resolved = holder.resolve("project-4-v2", "nobrs")
    assert resolved.model is not None and not resolved.fallback and resolved.model.name == str(target)
    with pytest.raises(RequestError) as err:
        holder.resolve("project-4-v3", "nobrs")
    assert err.value.code == "unknown_model"
    target.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception):
        ModelHolder(device="cpu", extra={}).resolve("project-4-v2", "nobrs")
