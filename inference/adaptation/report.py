"""A round's report: `report.json` (everything), `report.md` (the table) and `report.png` (mIoU after each
click and the share of held-out objects at IoU 0.85 / 0.90 within k clicks, current against candidate, and
the training loss per step)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["write_report", "table", "plot_round"]


def table(result: dict[str, Any]) -> str:
    """The Markdown table of a round's JSON (`RoundResult.to_json()`): figures before/after and the decision."""
    before, after = result.get("before"), result.get("after")
    lines = [f"Decision: {'promoted' if result['promoted'] else 'not promoted'} — {result['reason']}", ""]
    if before and after:
        lines += ["| held-out objects | NoC@85 | NoC@90 | NoF@90 |", "|---|---|---|---|"]
        for name, figures in (("current model", before), ("candidate", after)):
            lines.append(f"| {name} | {figures['noc85']:.2f} | {figures['noc90']:.2f} | {figures['nof90']} |")
        lines.append("")
    lines.append(f"Objects: {result['train_objects']} trained on ({result.get('train_images', 0)} images), "
                 f"{result['heldout_objects']} held out ({result.get('heldout_images', 0)} images); "
                 f"{result.get('steps', 0)} training steps in {result.get('train_seconds', 0):.0f} s; "
                 f"{result['seconds']:.0f} s in all.")
    return "\n".join(lines) + "\n"


def _reach(per_object: dict[str, int], max_clicks: int) -> list[float]:
    """Share of objects whose NoC is ≤ k, for k = 1..max_clicks; a NoC of `max_clicks` counts as a failure
    (as NoF does), so the curve ends at 1 − NoF / n."""
    values = list(per_object.values())
    n = max(1, len(values))
    return [sum(1 for v in values if v <= k and v < max_clicks) / n for k in range(1, max_clicks + 1)]


def plot_round(result: dict[str, Any], path: Path) -> Path:
    """Write the round's figure (three panels) to `path` (PNG) and return it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.8))
    before, after = result.get("before"), result.get("after")
    max_clicks = int(result.get("config", {}).get("max_clicks", 20))
    clicks = list(range(1, max_clicks + 1))
    for figures, label, style in ((before, "current", "--"), (after, "candidate", "-")):
        if not figures:
            continue
        curve = [(k, v) for k, v in zip(clicks, figures["miou_curve"]) if v is not None]
        if curve:
            axes[0].plot(*zip(*curve), style, label=f"{label} (NoC@90 {figures['noc90']:.2f})")
        for key, colour in (("per_object_noc85", "tab:blue"), ("per_object_noc90", "tab:red")):
            axes[1].plot(clicks, _reach(figures[key], max_clicks), style, color=colour,
                         label=f"{label}, IoU {key[-2:]}%")
    axes[0].set(title="mIoU after k clicks (held-out objects)", xlabel="clicks", ylabel="mIoU")
    axes[1].set(title="objects at the IoU within k clicks", xlabel="clicks", ylabel="share of objects",
                ylim=(0, 1.02))
    losses = result.get("losses") or []
    if losses:
        axes[2].plot(range(1, len(losses) + 1), losses, color="0.6", linewidth=0.8, label="per step")
        window = max(1, len(losses) // 20)
        if window > 1:
            smooth = [sum(losses[max(0, i - window + 1):i + 1]) / len(losses[max(0, i - window + 1):i + 1])
                      for i in range(len(losses))]
            axes[2].plot(range(1, len(losses) + 1), smooth, color="k", label=f"mean of {window}")
    axes[2].set(title="training loss", xlabel="step", ylabel="normalised focal loss")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{'promoted' if result['promoted'] else 'not promoted'}: {result['train_objects']} objects "
                 f"trained, {result['heldout_objects']} held out", fontsize=10)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def write_report(result: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write report.json, report.md and report.png into `out_dir`; returns their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "png": out_dir / "report.png"}
    for kind, text in (("json", json.dumps(result, indent=1)), ("md", table(result))):
        tmp = paths[kind].with_name(paths[kind].name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, paths[kind])
    plot_round(result, paths["png"])
    return paths
