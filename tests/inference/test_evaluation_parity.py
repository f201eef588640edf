"""The evaluation command reproduces the reference `evaluate_sample` runs recorded in autoeval.json
(RITM HRNet18s fixture, ZoomIn 400, threshold 0.49, max 20 clicks, stop at 0.90): same click sequence,
IoUs within 1e-4, same NoC@80/85/90 and failure counts. Drives the real SegmentationSession through
`python -m inference.evaluate`'s main()."""
from __future__ import annotations

import json
import shutil

import pytest

pytestmark = [pytest.mark.parity, pytest.mark.slow]

FIXTURE = "ritm_hrnet18s_itermask"
# (autoeval key, our mode, gt file, clicks that must be in sync at least on a CPU whose float kernels differ
# from the fixture machine's). How long a BRS run stays in sync there depends on the host: f-BRS-B 5+ and
# RGB-BRS 2+ clicks on earlier hosts, 3 and 1 on the AMD EPYC host of 2026-11-26 11:00 UTC (and the count
# moved with the tests run before it in one process), so only the first click is required there; on a CPU
# that reproduces the fixture's arithmetic the whole run must match.
RUNS = [
    ("NoBRS__train_object", "nobrs", "gt_mask_train_object.png", None),
    ("NoBRS__target", "nobrs", "gt_mask_target.png", None),
    ("f-BRS-B__target", "f-brs-b", "gt_mask_target.png", 1),
    ("RGB-BRS__target", "rgb-brs", "gt_mask_target.png", 1),
]
IOU_TOL = 1e-4


def _in_sync_prefix(ours, expected):
    """Clicks of the leading part where our run follows the reference: the click is the same and the IoU
    after it agrees within IOU_TOL (once an IoU differs, later clicks are chosen from a different
    prediction and may legitimately differ)."""
    ref_clicks = [{"x": x, "y": y, "positive": positive} for positive, y, x in expected["clicks"]]
    synced = 0
    for k, (ours_click, ref_click) in enumerate(zip(ours["clicks"], ref_clicks)):
        assert ours_click == ref_click, f"click {k + 1} differs although all earlier IoUs agree"
        if abs(ours["ious"][k] - expected["ious"][k]) > IOU_TOL:
            break
        synced += 1
    return synced


@pytest.mark.parametrize("key,mode,gt_file,min_sync", RUNS, ids=[r[0] for r in RUNS])
def test_command_reproduces_autoeval(shared_fixtures, tmp_path, key, mode, gt_file, min_sync):
    """The whole run is reproduced (clicks, IoUs ±1e-4, NoC, failures), at the reference's torch thread
    count. BRS modes on a CPU that does not reproduce the fixture machine's arithmetic
    (`ps.reproduces_reference_arithmetic`): L-BFGS-B amplifies the ~1e-5 forward differences, so there the
    clicker must follow the reference for `min_sync` clicks and a later parting is an expected failure."""
    from inference.utils.device import torch_threads
    from inference.evaluate import main
    from tests.inference import parity_support as ps

    fx = shared_fixtures / FIXTURE
    expected = json.loads((fx / "autoeval.json").read_text())[key]
    dataset = tmp_path / "fixture"
    (dataset / "images").mkdir(parents=True)
    (dataset / "masks").mkdir()
    shutil.copy(fx / "image.png", dataset / "images" / "synthetic.png")
    shutil.copy(fx / gt_file, dataset / "masks" / "synthetic.png")
    out = tmp_path / "out"

    # --early-stop: the reference stops at IoU >= 0.90 (running on is covered by the runner tests).
    with torch_threads(ps.reference_threads(shared_fixtures)):
        rc = main(["--dataset", str(dataset), "--model", str(fx / "weights.pth"), "--mode", mode,
                   "--preset", "reference", "--max-clicks", "20", "--early-stop", "--no-progress", "--out", str(out)])
    assert rc == 0
    (sample,) = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    (summary,) = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == mode and summary["n"] == 1
    for name in ("miou.png", "summary.md"):
        assert (out / name).stat().st_size > 0

    synced = _in_sync_prefix(sample, expected)
    full = synced == len(expected["clicks"]) == len(sample["clicks"])
    if min_sync is not None:
        assert synced >= min_sync, f"only {synced} clicks follow the reference"
        if not full and not ps.reproduces_reference_arithmetic(shared_fixtures):
            pytest.xfail(f"{mode}: BRS trajectory parts from the reference after click {synced} "
                         f"(IoU {sample['ious'][synced]:.4f} vs {expected['ious'][synced]:.4f})")
    assert full, f"run parts from the reference after click {synced}"
    assert [summary["noc"][k] for k in ("80", "85", "90")] == expected["NoC@80,85,90"]
    assert [summary["nof"][k] for k in ("85", "90")] == expected[">=20 (failures) @80,85,90"][1:]
    assert summary["spc_clicks"] == len(expected["clicks"])
