"""Checkpoint loading (f-BRS raw state_dict, RITM dict, our dict) and saving."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inference.networks import registry
from inference.networks.checkpoints import (CheckpointError, detect_fbrs_architecture, load_checkpoint,
                                            ritm_config_to_registry, save_checkpoint)


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _ritm_entry(value, specified: bool = True) -> dict:
    return {"type": "builtin", "value": value, "specified": specified}


def _ritm_hrnet18s_config(**extra) -> dict:
    params = dict(width=18, ocr_width=48, small=True, with_aux_output=True, use_leaky_relu=True,
                  use_rgb_conv=False, use_disks=True, norm_radius=5, with_prev_mask=True, backbone_lr_mult=0.1,
                  cpu_dist_maps=False, clicks_groups=None, binary_prev_mask=False, conv_extend=False)
    params.update(extra)
    config = {name: _ritm_entry(value) for name, value in params.items()}
    config["norm_layer"] = {"type": "class", "value": "torch.nn.modules.batchnorm.BatchNorm2d", "specified": False}
    return {"class": "isegm.model.is_hrnet_model.HRNetModel", "params": config}


def _random_state(name: str, **params) -> dict[str, torch.Tensor]:
    torch.manual_seed(3)
    net = registry.build(name, **params)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return net.state_dict()


def _assert_same_weights(net: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    own = net.state_dict()
    assert set(own) == set(state)
    for key, value in state.items():
        assert torch.equal(own[key], value), key


def test_ritm_fixture_checkpoint_loads_strictly_in_eval_mode(shared_fixtures: Path) -> None:
    path = shared_fixtures / "ritm_hrnet18s_itermask" / "weights.pth"
    net = load_checkpoint(path)
    assert net.config() == {"class": "ritm_hrnet", "params": {
        "width": 18, "ocr_width": 48, "small": True, "with_aux_output": True, "with_prev_mask": True,
        "binary_prev_mask": False, "use_disks": True, "norm_radius": 5, "use_rgb_conv": False,
        "conv_extend": False, "use_leaky_relu": True,
        "norm_mean_std": [[0.485, 0.456, 0.406], [0.229, 0.224, 0.225]]}}
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())
    _assert_same_weights(net, torch.load(path, weights_only=True)["state_dict"])


def test_ritm_checkpoint_object_with_deeplab_class() -> None:
    params = dict(backbone="resnet34", deeplab_ch=128, aspp_dropout=0.2, use_rgb_conv=False, use_disks=True,
                  norm_radius=5)
    state = _random_state("ritm_deeplab", **params)
    config = {"class": "isegm.model.is_deeplab_model.DeeplabModel",
              "params": {k: _ritm_entry(v) for k, v in params.items()}}
    net = load_checkpoint({"state_dict": state, "config": config})
    assert type(net).__name__ == "RITMDeepLabModel"
    assert net.config()["params"]["backbone"] == "resnet34"
    _assert_same_weights(net, state)


@pytest.mark.parametrize("params, expected", [
    (dict(backbone="resnet50", deeplab_ch=128), dict(backbone="resnet50", deeplab_ch=128, aspp_dropout=0.2)),
    (dict(backbone="resnet34", deeplab_ch=256), dict(backbone="resnet34", deeplab_ch=256, aspp_dropout=0.5)),
])
def test_fbrs_raw_deeplab_state_dict_detected(params: dict, expected: dict) -> None:
    state = _random_state("fbrs_deeplab", **params)
    name, detected = detect_fbrs_architecture(state)
    assert name == "fbrs_deeplab"
    assert {k: detected[k] for k in expected} == expected
    net = load_checkpoint(state)
    _assert_same_weights(net, state)


@pytest.mark.parametrize("small", [True, False])
def test_fbrs_raw_hrnet_state_dict_detected(small: bool) -> None:
    state = _random_state("fbrs_hrnet", width=18, ocr_width=64, small=small, with_aux_output=True)
    name, detected = detect_fbrs_architecture(state)
    assert name == "fbrs_hrnet"
    assert (detected["width"], detected["ocr_width"], detected["small"]) == (18, 64, small)
    net = load_checkpoint({"state_dict": state})  # wrapped without config: still a raw state_dict
    assert net.with_aux_output
    _assert_same_weights(net, state)


def test_fbrs_norm_radius_option() -> None:
    state = _random_state("fbrs_hrnet", width=18, ocr_width=64, small=True)
    assert load_checkpoint(state, fbrs_norm_radius=130).dist_maps.norm_radius == 130


def test_save_and_load_our_format_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = registry.build("ritm_hrnet", width=18, ocr_width=48, small=True, with_prev_mask=True, use_rgb_conv=False,
                         use_disks=True, norm_radius=5, use_leaky_relu=True, with_aux_output=True).eval()
    path = save_checkpoint(net, tmp_path / "sub" / "model.pth", meta={"trained_on": "synthetic", "epochs": 3})
    raw = torch.load(path, weights_only=True)
    assert raw["config"] == net.config() and raw["meta"] == {"trained_on": "synthetic", "epochs": 3}
    loaded = load_checkpoint(path)
    assert type(loaded) is type(net) and loaded.config() == net.config()
    _assert_same_weights(loaded, net.state_dict())
    image, points = torch.rand(1, 4, 32, 48), torch.tensor([[[8.0, 9.0, 0.0], [-1.0, -1.0, -1.0]]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(image, points)["instances"], net(image, points)["instances"])


def test_multi_stage_list_refused() -> None:
    with pytest.raises(CheckpointError, match="multi-stage checkpoints are not supported"):
        load_checkpoint([{"state_dict": {}, "config": {}}, {"state_dict": {}, "config": {}}])


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pth")
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(broken)
    with pytest.raises(CheckpointError, match="unrecognised checkpoint object"):
        load_checkpoint(42)
    with pytest.raises(CheckpointError, match="unrecognised state_dict"):
        load_checkpoint({"some.weight": torch.zeros(2)})


def test_strict_loading_names_offending_keys() -> None:
    state = dict(_random_state("fbrs_hrnet", width=18, ocr_width=64, small=True))
    state.pop("feature_extractor.cls_head.bias")
    state["feature_extractor.extra.weight"] = torch.zeros(3)
    state["rgb_conv.0.bias"] = torch.zeros(9)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(state)
    message = str(info.value)
    assert "missing keys: feature_extractor.cls_head.bias" in message
    assert "unexpected keys: feature_extractor.extra.weight" in message
    assert "rgb_conv.0.bias (9,) vs (8,)" in message


def test_num_batches_tracked_may_be_absent() -> None:
    state = {k: v for k, v in _random_state("fbrs_hrnet", width=18, ocr_width=64, small=True).items()
             if not k.endswith("num_batches_tracked")}
    own = load_checkpoint(state).state_dict()
    assert any(k.endswith("num_batches_tracked") for k in own)
    assert all(torch.equal(own[k], v) for k, v in state.items())


def test_ritm_config_mapping_and_refusals() -> None:
    name, params = ritm_config_to_registry(_ritm_hrnet18s_config())
    assert name == "ritm_hrnet" and params["norm_radius"] == 5 and "backbone_lr_mult" not in params
    with pytest.raises(CheckpointError, match="unsupported RITM model class"):
        ritm_config_to_registry({"class": "isegm.model.is_segformer_model.SegformerModel", "params": {}})
    with pytest.raises(CheckpointError, match="unsupported params of RITM HRNetModel: \\['pipeline_version'\\]"):
        ritm_config_to_registry(_ritm_hrnet18s_config(pipeline_version="s2"))
    with pytest.raises(CheckpointError, match="clicks_groups"):
        ritm_config_to_registry(_ritm_hrnet18s_config(clicks_groups=[1, 2]))
    config = _ritm_hrnet18s_config()
    config["params"]["norm_layer"]["value"] = "torch.nn.modules.batchnorm.SyncBatchNorm"
    with pytest.raises(CheckpointError, match="only BatchNorm2d"):
        ritm_config_to_registry(config)


def test_our_format_with_unknown_class_and_bad_params() -> None:
    state = _random_state("fbrs_hrnet", width=18, ocr_width=64, small=True)
    with pytest.raises(CheckpointError, match="unsupported RITM model class 'no_such_net'"):
        load_checkpoint({"state_dict": state, "config": {"class": "no_such_net", "params": {}}})
    with pytest.raises(CheckpointError, match="cannot build network 'fbrs_hrnet'"):
        load_checkpoint({"state_dict": state, "config": {"class": "fbrs_hrnet", "params": {"depth": 3}}})
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint({"state_dict": state, "config": {"class": "fbrs_hrnet",
                                                          "params": {"width": 18, "ocr_width": 48, "small": True}}})


class _Arbitrary:
    """Stands for any pickled object outside the weights-only allow-list."""


def test_metadata_types_allowed_and_arbitrary_objects_refused(tmp_path: Path) -> None:
    import numpy as np

    net = registry.build("fbrs_hrnet", width=18, ocr_width=64, small=True)
    payload = {"state_dict": net.state_dict(), "config": net.config(),
               "meta": {"torch": torch.__version__, "miou": np.float32(0.75), "step": np.int64(10)}}
    torch.save(payload, tmp_path / "ok.pth")
    assert load_checkpoint(tmp_path / "ok.pth").config() == net.config()
    payload["meta"] = {"evil": _Arbitrary()}
    torch.save(payload, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="weights-only loading"):
        load_checkpoint(tmp_path / "bad.pth")
