"""A zip's member count is read from its end record (zip64 included) and checked before `zipfile` parses the
central directory; a directory holding more entries than its end record claims is refused too."""
from __future__ import annotations

import io
import zipfile

import pytest

from labeling.errors import UploadRejected
from labeling.services.images import image_upload_files, image_upload_zip

from memory_probe import MB, peak_bytes
from upload_helpers import directory_only_zip, png, zip_of


def _upload(world, data: bytes):
    return peak_bytes(lambda: image_upload_zip(project=world.project, archive=data, user=world.manager))


def test_the_helper_builds_zips_that_zipfile_reads():
    assert len(zipfile.ZipFile(io.BytesIO(directory_only_zip(3))).infolist()) == 3
    assert len(zipfile.ZipFile(io.BytesIO(directory_only_zip(3, zip64=True))).infolist()) == 3


def test_too_many_members_are_refused_from_the_end_record(world, settings):
    settings.CLICKLABEL_MAX_ZIP_MEMBERS = 10
    data = directory_only_zip(60_000, name_bytes=5)
    peak, _, error = _upload(world, data)
    assert isinstance(error, UploadRejected) and error.details["reason"] == "too_many_members"
    assert "60,000" in error.message
    assert peak < 2 * MB, f"{peak / MB:.1f} MB allocated before the member count was checked"


def test_a_zip64_end_record_is_read(world, settings):
    settings.CLICKLABEL_MAX_ZIP_MEMBERS = 10
    data = directory_only_zip(70_000, zip64=True, name_bytes=5)
    peak, _, error = _upload(world, data)
    assert isinstance(error, UploadRejected) and error.details["reason"] == "too_many_members"
    assert "70,000" in error.message and peak < 2 * MB


def test_an_end_record_that_understates_the_count_is_refused(world, settings):
    settings.CLICKLABEL_MAX_ZIP_MEMBERS = 10
    data = directory_only_zip(60_000, declared=5, name_bytes=5)
    peak, _, error = _upload(world, data)
    assert isinstance(error, UploadRejected) and error.details["reason"] in {"too_many_members", "corrupt_zip"}
    assert peak < 2 * MB, f"{peak / MB:.1f} MB allocated for a zip that lies about its count"


def test_a_zip_within_the_limits_is_still_accepted(world, settings):
    settings.CLICKLABEL_MAX_ZIP_MEMBERS = 2
    report = image_upload_zip(project=world.project, archive=zip_of({"a.png": png(seed=1), "b.png": png(seed=2)}),
                              user=world.manager)
    assert report.to_dict()["counts"] == {"accepted": 2, "refused": 0}


@pytest.mark.parametrize("tail", [b"", b"PK\x05\x06", b"PK\x05\x06" + b"\x00" * 5])
def test_a_truncated_end_record_is_a_corrupt_zip(world, tail):
    report = image_upload_files(project=world.project, files=[("x.zip", b"PK\x03\x04" + b"\x00" * 30 + tail)],
                                user=world.manager)
    assert [r.code for r in report.refused] == ["corrupt_zip"]


def test_a_member_with_an_empty_name_is_refused_not_a_500(world):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.png", png(seed=1))
        zf.writestr(zipfile.ZipInfo(""), b"x")  # found by test_fuzz_parsers: zipfile's is_dir() fails on it
    report = image_upload_files(project=world.project, files=[("x.zip", buf.getvalue())], user=world.manager)
    assert [a.name for a in report.accepted] == ["a.png"] and len(report.refused) == 1


def _zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_directory_entry_needing_a_newer_zip_version_is_a_corrupt_zip_not_a_500(world):
    data = bytearray(_zip_bytes({"a.png": png(seed=1)}))
    at = data.find(b"PK\x01\x02")
    data[at + 6:at + 8] = (64).to_bytes(2, "little")  # "version needed to extract": 6.4 (found by the fuzz tests)
    report = image_upload_files(project=world.project, files=[("x.zip", bytes(data))], user=world.manager)
    assert [r.code for r in report.refused] == ["corrupt_zip"] and not report.accepted


def test_a_member_with_a_broken_deflate_stream_is_refused_not_a_500(world):
    data = bytearray(_zip_bytes({"a.png": png(64, 64, seed=3), "b.png": png(seed=4)}))
    data[data.find(b"a.png") + len(b"a.png")] = 2  # first deflate block header: zlib.error (found by the fuzz tests)
    report = image_upload_files(project=world.project, files=[("x.zip", bytes(data))], user=world.manager)
    assert [a.name for a in report.accepted] == ["b.png"]
    assert [r.code for r in report.refused] == ["corrupt"]
