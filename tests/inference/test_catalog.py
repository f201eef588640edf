"""The torch-free catalog names exactly what the engine runs: every mode has a predictor, and the model
registry is the one `load_model` resolves."""
from __future__ import annotations

import subprocess
import sys

from inference import catalog, model_zoo, predictors
from inference.worker import requests


def test_catalog_modes_are_the_registered_predictors():
    assert set(catalog.MODES) == set(predictors.MODES) == set(requests.MODES) == set(catalog.MODE_INFO)
    assert catalog.MODEL_FREE_MODES == predictors.MODEL_FREE_MODES
    assert catalog.DEFAULT_MODE in catalog.MODES


def test_every_mode_has_a_people_title_a_one_line_summary_and_its_paper_name():
    titles = [info.title for info in catalog.MODE_INFO.values()]
    assert len(set(titles)) == len(titles)
    assert catalog.MODE_INFO["nobrs"].title == "Fast" and catalog.MODE_INFO["f-brs-b"].title == "Precise"
    for info in catalog.MODE_INFO.values():
        assert info.summary and "\n" not in info.summary and len(info.summary) < 120
        assert info.technical.lower().replace("-", "") == info.name.replace("-", "")


def test_model_zoo_resolves_the_catalog_registry(monkeypatch, tmp_path):
    assert model_zoo.MODEL_REGISTRY is catalog.MODEL_REGISTRY
    monkeypatch.setitem(catalog.MODEL_REGISTRY, "extra", tmp_path / "extra.pth")
    assert model_zoo.resolve("extra") == tmp_path / "extra.pth"
    assert model_zoo.available_models()["extra"] is False


def test_model_names_add_the_worker_extra_names_never_paths():
    registered = (*catalog.MODEL_REGISTRY, *catalog.COMBINED_MODELS)
    assert catalog.model_names("") == registered and "best" in registered
    names = catalog.model_names("tiny=/srv/tiny.pth; big = /srv/big.pth;broken")
    assert names == (*registered, "tiny", "big")


def test_the_catalog_imports_without_torch():
    code = "import sys, inference.catalog; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
