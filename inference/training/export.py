"""Pick a run's best checkpoint by validation NoC and export it as the shipped fp16 model file.

`python -m inference.training.export --run runs/short [--out inference/weights/clicklabel_default.pth]`
Ranking: lowest validation NoC@90, then NoC@85, then the later step. Only the DUTS validation split is
used (never GrabCut/Berkeley).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from inference.training.checkpoint import atomic_save, load_payload

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "weights" / "clicklabel_default.pth"
MAX_BYTES = 25 * 1024 * 1024


def validation_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """The `{"step", "val", "checkpoint"}` lines of `run_dir/log.jsonl` whose checkpoint file exists."""
    run = Path(run_dir)
    log = run / "log.jsonl"
    if not log.is_file():
        raise FileNotFoundError(f"no log at {log}")
    records = []
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        if "val" in rec and (run / rec.get("checkpoint", "")).is_file():
            records.append(rec)
    return records


def best_record(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The record with the lowest (noc90, noc85, -step); ValueError if there is none."""
    if not records:
        raise ValueError("no validated checkpoint in this run")
    return min(records, key=lambda r: (r["val"]["noc90"], r["val"]["noc85"], -r["step"]))


def export_checkpoint(src: str | Path, out: str | Path, extra_meta: dict[str, Any] | None = None) -> Path:
    """Write `src`'s weights as fp16 with config + meta (no optimizer state) to `out`; returns the path.

    Raises ValueError if the file would exceed 25 MB."""
    payload = load_payload(src)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in payload["state_dict"].items()}
    meta = dict(payload.get("meta", {}))
    meta.update({"exported_from": str(src), "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "dtype": "float16"})
    meta.update(extra_meta or {})
    meta = json.loads(json.dumps(meta, default=str))  # plain types only: loadable with weights_only=True
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_save({"state_dict": state, "config": payload["config"], "meta": meta}, out)
    if out.stat().st_size > MAX_BYTES:
        raise ValueError(f"{out} is {out.stat().st_size} bytes, over the 25 MB limit")
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI entry: choose the best validated checkpoint of --run and export it to --out."""
    parser = argparse.ArgumentParser(prog="python -m inference.training.export", description=__doc__)
    parser.add_argument("--run", required=True, help="training run folder (log.jsonl + val_step*.pth)")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    records = validation_records(args.run)
    best = best_record(records)
    path = export_checkpoint(Path(args.run) / best["checkpoint"], args.out,
                             {"selected_by": "lowest DUTS-validation NoC@90", "validation": best["val"],
                              "validation_history": [{"step": r["step"], **r["val"]} for r in records]})
    print(json.dumps({"exported": str(path), "step": best["step"], "val": best["val"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
