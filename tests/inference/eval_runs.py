"""Fake evaluation-command output folders (`samples.jsonl` only) for the tests of the scripts that read them."""
from __future__ import annotations

import json
from pathlib import Path


def ious_reaching(noc: int) -> list[float]:
    """IoUs that first reach 0.90 at click `noc` (never, for 20)."""
    return [0.5] * (noc - 1) + ([0.95] if noc < 20 else [0.5]) + [0.96] * (20 - noc)


def write_run(root: Path, nocs: dict[str, dict[str, int]]) -> Path:
    """Make folder `root` holding a `samples.jsonl` with, per mode and sample id, IoUs that reach 0.90 at the
    given click (mode → sample id → NoC); returns `root`."""
    root.mkdir()
    with open(root / "samples.jsonl", "w") as fh:
        for mode, per_id in nocs.items():
            for sample_id, value in per_id.items():
                fh.write(json.dumps({"id": sample_id, "mode": mode, "ious": ious_reaching(value)}) + "\n")
    return root
