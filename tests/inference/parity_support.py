"""Helpers for the parity tests: fixture images, clicks, networks and runs through SegmentationSession."""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from inference.clicks import Click
from inference.utils.device import torch_threads
from inference.networks.checkpoints import load_checkpoint
from inference.predictors import PredictorConfig, ZoomInParams
from inference.session import SegmentationSession

RITM_DIR = "ritm_hrnet18s_itermask"
FBRS_DIR = "fbrs_resnet34_dh128"

# The fixtures' fixed click sequence, README table (y, x) → our (x, y).
CLICKS_YX = [(88, 94, True), (86, 190, False), (34, 200, True), (87, 215, False), (25, 190, True),
             (80, 165, False), (45, 215, True), (150, 230, False), (60, 95, True), (88, 152, False)]
CLICKS = [Click(x=x, y=y, positive=p) for y, x, p in CLICKS_YX]

MODES = {"NoBRS": ("nobrs", True), "NoBRS_noflip": ("nobrs", False), "RGB-BRS": ("rgb-brs", True),
         "DistMap-BRS": ("distmap-brs", True), "f-BRS-A": ("f-brs-a", True), "f-BRS-B": ("f-brs-b", True),
         "f-BRS-C": ("f-brs-c", True)}
ZOOMS = {"nozoom": None, "zoomeval": ZoomInParams(target_size=400),
         "zoomfixed": ZoomInParams(skip_clicks=-1, target_size=(192, 192), expansion_ratio=1.4),
         "zoomsmall": ZoomInParams(target_size=200, min_crop_size=64)}


def reference_threads(fixtures: Path) -> int:
    """torch threads of the run that made the fixtures (`run_versions.json`: 2). The thread count decides
    which convolution kernels torch picks on a CPU (e.g. 1×1 convolutions with a small batch take the THNN
    path with 1 thread and oneDNN with more), so reproducing the reference's float results needs the same
    count; $CLICKLABEL_TEST_THREADS overrides it."""
    override = os.environ.get("CLICKLABEL_TEST_THREADS")
    if override:
        return int(override)
    versions = json.loads((fixtures / RITM_DIR / "run_versions.json").read_text())["versions"]
    return int(versions["torch_num_threads"])


@functools.lru_cache(maxsize=2)
def reproduces_reference_arithmetic(fixtures: Path) -> bool:
    """Whether this machine, at the reference's thread count, computes the RITM fixture's raw network forward
    bit for bit — i.e. it runs the same float kernels as the machine that made the fixtures (measured: true
    on an AMD EPYC with 2 threads; false on an Intel Xeon, ~1e-5). Where it does, the BRS trajectories must
    reproduce the reference exactly and the parity tests are strict."""
    data = np.load(fixtures / RITM_DIR / "net_forward.npz")
    image = torch.cat([torch.from_numpy(data["input_rgb01"]), torch.from_numpy(data["input_prev_mask"])], dim=1)
    with torch_threads(reference_threads(fixtures)), torch.no_grad():
        logits = network(fixtures, RITM_DIR)(image, torch.from_numpy(data["points"]).float())["instances"]
    return bool(np.array_equal(logits.numpy(), data["logits_instances"]))


def shipped_cases(fixtures: Path) -> list[tuple[str, str, str]]:
    """(fixture dir, fixture mode, zoom) of every shipped `probs__<MODE>__<ZOOM>.npz`."""
    cases = []
    for directory in (RITM_DIR, FBRS_DIR):
        for path in sorted((fixtures / directory).glob("probs__*__*.npz")):
            _, mode, zoom = path.stem.split("__")
            cases.append((directory, mode, zoom))
    return cases


def fixture_image(fixtures: Path) -> np.ndarray:
    """uint8 (160, 240, 3) RGB."""
    return np.ascontiguousarray(cv2.imread(str(fixtures / RITM_DIR / "image.png"))[:, :, ::-1])


def target_mask(fixtures: Path) -> np.ndarray:
    """int (H, W): 1 object, 0 background, −1 ignore (GrabCut convention PNG)."""
    png = cv2.imread(str(fixtures / RITM_DIR / "gt_mask_target.png"), cv2.IMREAD_GRAYSCALE)
    return np.where(png == 255, 1, np.where(png == 128, -1, 0))


@functools.lru_cache(maxsize=2)
def network(fixtures: Path, directory: str) -> torch.nn.Module:
    """The fixture's network on CPU (f-BRS: rebuilt with the fixture's own build_checkpoint.py)."""
    if directory == RITM_DIR:
        return load_checkpoint(str(fixtures / RITM_DIR / "weights.pth"), "cpu")
    spec = importlib.util.spec_from_file_location("fbrs_fixture_build", fixtures / FBRS_DIR / "build_checkpoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return load_checkpoint(module.build(), "cpu")


def meta(fixtures: Path, directory: str, mode: str, zoom: str) -> dict:
    """The run's entry in runs_meta.json (or extra_meta.json for NoBRS_noflip)."""
    runs = json.loads((fixtures / directory / "runs_meta.json").read_text())
    return runs.get(f"{mode}__{zoom}", {})


def reference_probs(fixtures: Path, directory: str, mode: str, zoom: str) -> np.ndarray:
    """float64 (10, H, W) reference probabilities (uint16 / 65535)."""
    data = np.load(fixtures / directory / f"probs__{mode}__{zoom}.npz")
    return data["probs_u16"].astype(np.float64) / 65535


@dataclass
class Run:
    probs: np.ndarray               # float32 (10, H, W)
    n_evals: list[int]
    rois: list[tuple | None]        # (rmin, rmax, cmin, cmax) per click
    opt_data: list[np.ndarray | None]
    seconds: list[float]
    objective_values: list[list[float]]


@functools.lru_cache(maxsize=32)
def run(fixtures: Path, directory: str, mode: str, zoom: str, n_clicks: int = 10, num_threads: int | None = None
        ) -> Run:
    """Drive our session through the fixture clicks with the fixture's predictor settings (and, by default,
    the reference's torch thread count)."""
    if num_threads is None:
        num_threads = reference_threads(fixtures)
    our_mode, with_flip = MODES[mode]
    config = PredictorConfig(prob_thresh=0.49, with_flip=with_flip, zoom_in=ZOOMS[zoom])
    session = SegmentationSession(network(fixtures, directory), fixture_image(fixtures), mode=our_mode,
                                  config=config, device="cpu", num_threads=num_threads)
    probs, evals, rois, opt, secs, values = [], [], [], [], [], []
    for click in CLICKS[:n_clicks]:
        t0 = time.perf_counter()
        probs.append(session.add_click(click))
        secs.append(time.perf_counter() - t0)
        evals.append(session.last_stats["n_objective_evals"])
        values.append(session.last_stats["objective_values"])
        rois.append(session.predictor.roi)
        data = getattr(session.predictor, "opt_data", None)
        opt.append(None if data is None else np.array(data, dtype=np.float64).ravel())
    return Run(np.stack(probs), evals, rois, opt, secs, values)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two bool masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def iou_vs_target(mask: np.ndarray, target: np.ndarray) -> float:
    """Reference `get_iou`: pixels with target −1 are ignored."""
    keep = target != -1
    gt = target == 1
    return float((mask & gt & keep).sum() / ((mask | gt) & keep).sum())
