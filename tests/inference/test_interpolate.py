"""Weight interpolation between a model and its fine-tune, and the split-linking script."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.networks.registry import build
from inference.training.checkpoint import load_payload, model_payload
from inference.training.data import list_pairs, split_pairs
from inference.training.interpolate import interpolate_checkpoints, interpolate_state_dicts, main

PARAMS = {"output_stride": 16, "aspp_ch": 16, "skip_ch": 8, "head_ch": 16}
REPO = Path(__file__).resolve().parents[2]


def _state(seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {"weight": torch.randn(3, 2, generator=generator),
            "bn.running_mean": torch.randn(2, generator=generator),
            "bn.num_batches_tracked": torch.tensor(seed, dtype=torch.long)}


def test_interpolation_endpoints_and_midpoint():
    start, tuned = _state(1), _state(2)
    assert torch.equal(interpolate_state_dicts(start, tuned, 0.0)["weight"], start["weight"])
    assert torch.equal(interpolate_state_dicts(start, tuned, 1.0)["weight"], tuned["weight"])
    mid = interpolate_state_dicts(start, tuned, 0.25)
    torch.testing.assert_close(mid["weight"], 0.75 * start["weight"] + 0.25 * tuned["weight"])
    torch.testing.assert_close(mid["bn.running_mean"], 0.75 * start["bn.running_mean"] + 0.25 * tuned["bn.running_mean"])
    assert mid["bn.num_batches_tracked"].item() == 2            # integers come from the fine-tune


def test_interpolation_mixes_precisions_in_float32_and_keeps_the_tuned_dtype():
    start = {"w": torch.tensor([1.0, 3.0], dtype=torch.float16)}
    tuned = {"w": torch.tensor([2.0, 5.0], dtype=torch.float32)}
    mixed = interpolate_state_dicts(start, tuned, 0.5)["w"]
    assert mixed.dtype == torch.float32 and mixed.tolist() == [1.5, 4.0]


@pytest.mark.parametrize("start, tuned, alpha, message", [
    ({"a": torch.zeros(2)}, {"b": torch.zeros(2)}, 0.5, "different tensors"),
    ({"a": torch.zeros(2)}, {"a": torch.zeros(3)}, 0.5, "shape"),
    ({"a": torch.zeros(2)}, {"a": torch.zeros(2)}, 1.5, "alpha"),
])
def test_interpolation_rejects_mismatches(start, tuned, alpha, message):
    with pytest.raises(ValueError, match=message):
        interpolate_state_dicts(start, tuned, alpha)


def _save_net(path: Path, seed: int, params: dict) -> Path:
    torch.manual_seed(seed)
    torch.save(model_payload(build("mobilenetv2_deeplabv3p", **params), "mobilenetv2_deeplabv3p", params,
                             {"seed": seed}), path)
    return path


def test_interpolated_checkpoint_loads_and_records_its_parents(tmp_path):
    start = _save_net(tmp_path / "start.pth", 0, PARAMS)
    tuned = _save_net(tmp_path / "tuned.pth", 1, PARAMS)
    out = interpolate_checkpoints(start, tuned, 0.5, tmp_path / "mix" / "mid.pth")
    payload = load_payload(out)
    assert payload["meta"]["interpolated"]["alpha"] == 0.5
    assert payload["meta"]["interpolated"]["tuned_meta"] == {"seed": 1}
    key = next(k for k, v in payload["state_dict"].items() if v.is_floating_point() and v.numel() > 10)
    expected = (load_payload(start)["state_dict"][key] + load_payload(tuned)["state_dict"][key]) / 2
    torch.testing.assert_close(payload["state_dict"][key], expected)
    net = build(payload["config"]["class"], **payload["config"]["params"])
    net.load_state_dict(payload["state_dict"])                 # strict: every tensor present


def test_cli_refuses_checkpoints_of_different_networks(tmp_path, capsys):
    start = _save_net(tmp_path / "start.pth", 0, PARAMS)
    other = _save_net(tmp_path / "other.pth", 0, {**PARAMS, "head_ch": 8})
    code = main(["--start", str(start), "--tuned", str(other), "--out", str(tmp_path / "x.pth")])
    assert code == 2
    assert "different networks" in capsys.readouterr().err
    assert not (tmp_path / "x.pth").exists()


def test_link_split_script_links_the_trainers_split(tmp_path):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    for i in range(7):
        (src / "images" / f"{i}.jpg").write_bytes(b"jpeg")
        (src / "masks" / f"{i}.png").write_bytes(b"png")
    train_out, val_out = tmp_path / "train", tmp_path / "val"
    command = [sys.executable, "scripts/link_split.py", "--src", str(src), "--train-out", str(train_out),
               "--val-out", str(val_out), "--n-val", "2", "--split-seed", "3"]
    for _ in range(2):                                           # a second run replaces its own links
        run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
    train, val = split_pairs(list_pairs(src), 2, 3)
    assert sorted(p.name for p in (val_out / "images").iterdir()) == sorted(image.name for image, _ in val)
    assert sorted(p.name for p in (train_out / "masks").iterdir()) == sorted(mask.name for _, mask in train)
    link = val_out / "images" / val[0][0].name
    assert link.is_symlink() and link.resolve() == val[0][0].resolve()
    assert len(list((train_out / "images").iterdir())) == 5
    assert np.intersect1d([p.name for p in (train_out / "images").iterdir()],
                          [p.name for p in (val_out / "images").iterdir()]).size == 0
