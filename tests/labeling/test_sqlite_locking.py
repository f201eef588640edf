"""On the embedded default (SQLite, WAL, IMMEDIATE transactions) an annotator's save does not fail with
"database is locked" while a big upload or COCO import runs: uploads write their files before a short
transaction, imports commit in small chunks. Real threads on a real database file, in a subprocess."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("sqlite_lock_probe.py")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["upload", "import"])
def test_saves_are_not_locked_out_by_a_big_write(mode, tmp_path):
    run = subprocess.run([sys.executable, str(PROBE), mode, str(tmp_path)], capture_output=True, text=True,
                         timeout=300, cwd=PROBE.parents[2])
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert "error" not in result, result
    if mode == "upload":
        assert result["accepted"] == 40
    else:
        assert result["status"] == "done" and result["imported"] == 800, result
    assert result["saves"] >= 3, result  # the saves really overlapped the big write
    assert result["errors"] == [], result
