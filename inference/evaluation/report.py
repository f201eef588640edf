"""Evaluation outputs: summary.json, samples.jsonl, miou.png, summary.md, and the papers' table.

The papers' format (f-BRS / RITM): one row per (model, mode), columns NoC@85 / NoC@90 per data set
(GrabCut 85/90, Berkeley 90, ...). :func:`results_table` builds it from any number of summary.json
files; ``python -m inference.evaluation.report OUTDIR [OUTDIR ...]`` prints it (used for
docs/results.md).
"""
from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from .metrics import MIOU_CLICKS

__all__ = ["SampleWriter", "write_summary_json", "plot_miou", "summary_markdown", "results_table",
           "load_summaries", "write_outputs"]

SUMMARY_JSON = "summary.json"
SAMPLES_JSONL = "samples.jsonl"
MIOU_PNG = "miou.png"
SUMMARY_MD = "summary.md"

# Columns shown per data set in the papers' table (RITM shows only NoC@90 for Berkeley).
PAPER_COLUMNS: dict[str, tuple[str, ...]] = {"GrabCut": ("85", "90"), "Berkeley": ("90",)}
DEFAULT_COLUMNS: tuple[str, ...] = ("85", "90")


class SampleWriter:
    """Streams sample results to ``OUTDIR/samples.jsonl`` as they finish (one JSON object a line)."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / SAMPLES_JSONL
        self._fh: IO[str] = self.path.open("w", encoding="utf-8")

    def __call__(self, result: Any) -> None:
        self._fh.write(json.dumps(result.to_json()) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def write_summary_json(summaries: Sequence[dict[str, Any]], out_dir: Path) -> Path:
    """Write the list of per-mode summaries to ``OUTDIR/summary.json``."""
    path = out_dir / SUMMARY_JSON
    path.write_text(json.dumps(list(summaries), indent=2) + "\n", encoding="utf-8")
    return path


def plot_miou(summaries: Sequence[dict[str, Any]], path: Path) -> Path:
    """mIoU vs number of clicks, one curve per summary (mode); points without a value are skipped."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for summary in summaries:
        curve = summary.get("miou_curve") or []
        points = [(k + 1, v) for k, v in enumerate(curve) if v is not None]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", markersize=3, label=_row_label(summary))
    first = summaries[0] if summaries else {}
    ax.set_title(f"{first.get('dataset', '')}: mIoU vs clicks (n={first.get('n', 0)})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("number of clicks")
    ax.set_ylabel("mIoU")
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, alpha=0.3)
    if any(s.get("miou_curve") for s in summaries):
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _row_label(summary: dict[str, Any]) -> str:
    model = summary.get("model")
    return summary["mode"] if not model else f"{model} / {summary['mode']}"


def summary_markdown(summaries: Sequence[dict[str, Any]]) -> str:
    """Markdown for one run: the papers' columns for its data set, then the full metric table."""
    if not summaries:
        return "No results.\n"
    lines = [results_table(summaries), ""]
    first = summaries[0]
    miou_keys = [str(k) for k in MIOU_CLICKS]
    header = (["model / mode", "n", "NoC@80", "NoC@85", "NoC@90", "NoF@85", "NoF@90"]
              + [f"mIoU@{k}" for k in miou_keys] + ["SPC (s)", "clicks", "time (s)"])
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for s in summaries:
        row = ([_row_label(s), str(s["n"])] + [_fmt(s["noc"].get(k)) for k in ("80", "85", "90")]
               + [_fmt(s["nof"].get(k)) for k in ("85", "90")]
               + [_fmt(s["miou"].get(k), 3) for k in miou_keys]
               + [_fmt(s.get("spc"), 3), str(s.get("clicks_total")), _fmt(s.get("seconds_total"), 1)])
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"Data set `{first['dataset']}`, max {first.get('max_clicks')} clicks, preset `{first.get('preset')}`"
        f"{_overrides_text(first)} ({_settings_text(first)}), "
        f"{'stopped at IoU ≥ 0.90' if first.get('early_stop') else 'all clicks run (mIoU measured)'}; "
        "SPC = seconds / clicks up to reaching IoU 0.90 (as the reference). "
        f"Machine: {first.get('machine')}; workers: {first.get('workers')}.",
        "",
    ]
    return "\n".join(lines)


def _overrides_text(summary: dict[str, Any]) -> str:
    """'' or ' with NAME=VALUE, …' from a summary."""
    overrides = summary.get("overrides") or {}
    return "" if not overrides else " with " + ", ".join(f"{k}={v}" for k, v in overrides.items())


def _settings_text(summary: dict[str, Any]) -> str:
    """Threshold, zoom-in and post-processing of the first mode's resolved settings, in words."""
    settings = summary.get("settings") or {}
    zoom = settings.get("zoom_in")
    zoom_text = "zoom-in off" if not zoom else (
        f"ZoomIn target {zoom['target_size']}, expansion {zoom['expansion_ratio']}, skip {zoom['skip_clicks']}, "
        f"min crop {zoom['min_crop_size']:g}")
    refine = settings.get("refine")
    refine_text = "no refinement" if not refine else (
        f"guided filter radius {refine['radius']}, eps {refine['eps']:g}")
    return f"threshold {settings.get('prob_thresh')}, {zoom_text}, {refine_text}"


def results_table(summaries: Iterable[dict[str, Any]]) -> str:
    """The papers' table: rows (model, mode), columns NoC@85/90 per data set (Berkeley: NoC@90 only).

    Summaries of the same (model, mode) on different data sets are merged into one row; data sets
    appear in first-seen order.
    """
    rows: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    datasets: list[str] = []
    for s in summaries:
        key = (s.get("model") or "—", s["mode"])
        rows.setdefault(key, {})[s["dataset"]] = s
        if s["dataset"] not in datasets:
            datasets.append(s["dataset"])
    header = ["model", "mode"]
    for ds in datasets:
        header += [f"{ds} NoC@{t}" for t in PAPER_COLUMNS.get(ds, DEFAULT_COLUMNS)]
    header += [f"{ds} NoF@90" for ds in datasets]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (model, mode), per_ds in rows.items():
        cells = [model, mode]
        for ds in datasets:
            cols = PAPER_COLUMNS.get(ds, DEFAULT_COLUMNS)
            cells += [_fmt(per_ds[ds]["noc"].get(t)) if ds in per_ds else "–" for t in cols]
        cells += [_fmt(per_ds[ds]["nof"].get("90")) if ds in per_ds else "–" for ds in datasets]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(summaries: Sequence[dict[str, Any]], out_dir: Path) -> dict[str, Path]:
    """Write summary.json, miou.png and summary.md (samples.jsonl is streamed by SampleWriter)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / SUMMARY_MD
    md.write_text(summary_markdown(summaries), encoding="utf-8")
    return {"summary": write_summary_json(summaries, out_dir),
            "plot": plot_miou(summaries, out_dir / MIOU_PNG),
            "markdown": md}


def load_summaries(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Read summary.json files (or folders containing one) and concatenate their lists."""
    out: list[dict[str, Any]] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            path = path / SUMMARY_JSON
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{path}: summary.json must hold a JSON list")
        out.extend(data)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m inference.evaluation.report OUTDIR...``: print the papers' table of several runs."""
    parser = argparse.ArgumentParser(prog="python -m inference.evaluation.report",
                                     description="Combine evaluation outputs into the papers' NoC table.")
    parser.add_argument("outputs", nargs="+", help="evaluation OUTDIRs or summary.json files")
    args = parser.parse_args(argv)
    print(results_table(load_summaries(args.outputs)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
