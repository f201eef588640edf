"""scripts/training/compare_evals.py: paired per-image NoC differences between two evaluation runs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts" / "training"))
from compare_evals import compare, main  # noqa: E402

from tests.inference.eval_runs import write_run


def test_paired_figures_per_mode_and_target_kind(tmp_path):
    base = write_run(tmp_path / "base", {"nobrs": {"a": 2, "b": 5, "c": 20, "d": 3},
                                         "f-brs-b": {"a": 2, "b": 4, "c": 9, "d": 3}})
    candidate = write_run(tmp_path / "cand", {"nobrs": {"a": 1, "b": 5, "c": 12, "d": 4, "e": 1},
                                              "rgb-brs": {"a": 1}})
    result = compare(base, candidate, targets={"a": "base", "b": "base", "c": "pasted", "d": "pasted"})
    assert list(result) == ["nobrs"]                 # only modes both runs hold
    everything = result["nobrs"]["all"]
    assert everything["n"] == 4                      # "e" is only in the candidate
    assert (everything["base"], everything["candidate"]) == (7.5, 5.5)
    assert everything["delta"] == pytest.approx(-2.0)   # differences -1, 0, -8, +1
    assert everything["se"] == pytest.approx((((1 ** 2) + 2 ** 2 + 6 ** 2 + 3 ** 2) / 3 / 4) ** 0.5)
    assert (everything["better"], everything["worse"]) == (2, 1)
    assert result["nobrs"]["base"]["delta"] == pytest.approx(-0.5)
    assert result["nobrs"]["pasted"]["delta"] == pytest.approx(-3.5)
    assert compare(base, candidate, threshold=0.5)["nobrs"]["all"]["delta"] == 0.0   # all reach 0.5 at click 1


def test_command_line_prints_and_saves_and_refuses_bad_input(tmp_path, capsys):
    base = write_run(tmp_path / "base", {"nobrs": {"a": 2, "b": 6}})
    candidate = write_run(tmp_path / "cand", {"nobrs": {"a": 3, "b": 4}})
    out = tmp_path / "cmp.json"
    assert main(["--base", str(base), "--candidate", str(candidate), "--json", str(out)]) == 0
    assert "NoC@0.9 4.00 -> 3.50  paired -0.50 ± 1.50  better 1, worse 1" in capsys.readouterr().out
    assert json.loads(out.read_text())["nobrs"]["all"]["n"] == 2
    assert main(["--base", str(base), "--candidate", str(tmp_path / "missing")]) == 2
    assert "no samples.jsonl" in capsys.readouterr().err
    other = write_run(tmp_path / "other", {"f-brs-b": {"a": 1}})
    assert main(["--base", str(base), "--candidate", str(other)]) == 2
    run = subprocess.run([sys.executable, "scripts/training/compare_evals.py", "--base", str(base), "--candidate",
                          str(candidate)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "paired -0.50" in run.stdout
