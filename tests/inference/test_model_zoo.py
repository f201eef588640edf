"""Model zoo: registered names, checkpoint paths, missing weights."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inference import model_zoo
from inference.utils.device import select_device


def test_missing_registered_weights_raise_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(model_zoo.MODEL_REGISTRY, "default", tmp_path / "nope.pth")
    assert model_zoo.available_models()["default"] is False
    with pytest.raises(model_zoo.MissingWeightsError, match="'default'.*nope.pth"):
        model_zoo.load_model("default")
    with pytest.raises(FileNotFoundError):          # MissingWeightsError is a FileNotFoundError
        model_zoo.load_model(tmp_path / "other.pth")


def test_load_checkpoint_path(shared_fixtures):
    model = model_zoo.load_model(shared_fixtures / "ritm_hrnet18s_itermask" / "weights.pth", device="cpu")
    assert model.device == torch.device("cpu") and not model.net.training
    assert model.net.family == "ritm" and model.net.with_prev_mask
    assert not any(p.requires_grad for p in model.net.parameters())


def test_registered_name_resolves(monkeypatch, shared_fixtures):
    monkeypatch.setitem(model_zoo.MODEL_REGISTRY, "fixture", shared_fixtures / "ritm_hrnet18s_itermask" / "weights.pth")
    assert model_zoo.load_model("fixture", device="cpu").name == "fixture"


def test_select_device():
    assert select_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert select_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError):
            select_device("cuda")
