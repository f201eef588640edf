"""scripts/training/noc_uncertainty.py: standard errors, bootstrap intervals and mode pairs of one evaluation run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts" / "training"))
from noc_uncertainty import bootstrap_interval, main, summarise  # noqa: E402

from tests.inference.eval_runs import write_run


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_samples():
    rng = np.random.default_rng(1)
    small, large = rng.integers(1, 21, 25), rng.integers(1, 21, 400)
    low, high = bootstrap_interval(small, resamples=4000, seed=3)
    assert low < small.mean() < high
    big_low, big_high = bootstrap_interval(large, resamples=4000, seed=3)
    assert big_high - big_low < (high - low) * 0.6          # width shrinks about as 1/sqrt(n)
    assert bootstrap_interval(small, resamples=4000, seed=3) == (low, high)   # seeded
    assert bootstrap_interval([4.0] * 10) == (4.0, 4.0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(small, level=1.0)


def test_summary_per_mode_and_pair(tmp_path):
    run = write_run(tmp_path / "run", {"nobrs": {"a": 2, "b": 6, "c": 20, "d": 4},
                                       "f-brs-b": {"a": 2, "b": 5, "c": 20, "d": 7}})
    result = summarise(run, resamples=2000)
    nobrs = result["modes"]["nobrs"]
    assert (nobrs["n"], nobrs["mean"]) == (4, 8.0)
    assert nobrs["se"] == pytest.approx(np.std([2, 6, 20, 4], ddof=1) / 2)
    assert 2.0 <= nobrs["low"] < 8.0 < nobrs["high"] <= 20.0
    pair = result["pairs"]["nobrs - f-brs-b"]
    assert (pair["first"], pair["second"], pair["n"]) == ("f-brs-b", "nobrs", 4)
    assert pair["delta"] == pytest.approx(-0.5)        # differences 0, +1, 0, -3
    assert (pair["better"], pair["worse"]) == (1, 1)


def test_command_line_prints_saves_and_refuses_bad_input(tmp_path, capsys):
    run = write_run(tmp_path / "run", {"nobrs": {"a": 2, "b": 6}, "f-brs-b": {"a": 3, "b": 6}})
    out = tmp_path / "u.json"
    assert main(["--run", str(run), "--resamples", "500", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "nobrs      n=   2  NoC@0.9 4.00 ± 2.00" in printed
    assert "nobrs - f-brs-b: n=2  paired -0.50 ± 0.50  (nobrs needs more clicks on 0 samples, fewer on 1)" in printed
    assert json.loads(out.read_text())["modes"]["f-brs-b"]["mean"] == 4.5
    assert main(["--run", str(tmp_path / "missing")]) == 2
    assert "no samples.jsonl" in capsys.readouterr().err
    assert main(["--run", str(run), "--resamples", "0"]) == 2
    assert main(["--run", str(run), "--level", "2"]) == 2
    done = subprocess.run([sys.executable, "scripts/training/noc_uncertainty.py", "--run", str(run), "--resamples", "100"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "bootstrap" in done.stdout
