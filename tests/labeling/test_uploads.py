"""Uploads: every kind of bad file is refused with a clear reason and leaves nothing behind; the
accepted ones are normalised (EXIF rotation, RGB, JPEG/PNG) and deduplicated by checksum."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from django.core.files.storage import FileSystemStorage
from PIL import Image as PILImage

from labeling.errors import UploadRejected
from labeling.models import Image
from labeling.services.images import image_upload_files, image_upload_zip
from labeling.uploads import unsafe_member_path, validate_image

from upload_helpers import encode, jpeg, media_files, png, rgb_array, zip_of


@pytest.fixture
def clean_state(world):
    """Snapshot of rows and media files before the upload under test."""
    return {"rows": Image.objects.count(), "files": media_files()}


def assert_nothing_written(state) -> None:
    assert Image.objects.count() == state["rows"]
    assert media_files() == state["files"]


def _stored_pixels(image: Image) -> np.ndarray:
    with image.file.open("rb") as fh, PILImage.open(fh) as img:
        assert img.mode == "RGB"
        return np.asarray(img).copy()


def _bomb_png() -> bytes:
    """A ~10 KB PNG that declares 8000 x 8000 = 64 MP (over our 50 MP, under Pillow's own 89 MP)."""
    return encode(PILImage.new("1", (8000, 8000)), "PNG")


def _truncated_png() -> bytes:
    data = png(64, 64)
    return data[: len(data) // 2]


def _truncated_jpeg() -> bytes:
    data = jpeg(64, 64)
    return data[: len(data) - 200]


BAD_FILES = [
    ("bomb.png", _bomb_png, "too_many_pixels", "50,000,000 pixels"),
    ("truncated.png", _truncated_png, "corrupt", "corrupt or truncated"),
    ("truncated.jpg", _truncated_jpeg, "corrupt", "corrupt or truncated"),
    ("empty.png", lambda: b"", "empty", "empty (0 bytes)"),
    ("drawing.png", lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9">'
                            b'<script>alert(1)</script></svg>', "not_an_image", "SVG drawing"),
    ("page.jpg", lambda: b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
     "not_an_image", "HTML document"),
    ("notes.png", lambda: b"just some text, not an image", "not_an_image", "not an image format"),
    ("icon.png", lambda: encode(PILImage.fromarray(rgb_array(16, 16)), "ICO"), "unsupported_format", "ICO images"),
    ("anim.gif", lambda: encode(PILImage.new("RGB", (8, 8), (255, 0, 0)), "GIF", save_all=True,
                                append_images=[PILImage.new("RGB", (8, 8), (0, 0, 255))]), "multi_frame", "2 frames"),
]


@pytest.mark.parametrize("name,make,code,phrase", BAD_FILES, ids=[row[0] for row in BAD_FILES])
def test_bad_file_is_refused_with_a_clear_reason_and_nothing_written(world, clean_state, name, make, code, phrase):
    report = image_upload_files(project=world.project, files=[(name, make())], user=world.manager)
    assert report.accepted == []
    [refused] = report.refused
    assert refused.name == name and refused.code == code
    assert phrase in refused.reason and name in refused.reason
    assert_nothing_written(clean_state)


def test_validate_image_raises_upload_rejected_with_http_400():
    with pytest.raises(UploadRejected) as caught:
        validate_image(b"", "x.png")
    assert caught.value.status == 400 and caught.value.details == {"file": "x.png", "reason": "empty"}


def test_byte_limit_comes_from_settings(world, clean_state, settings):
    settings.CLICKLABEL_MAX_UPLOAD_BYTES = 100
    report = image_upload_files(project=world.project, files=[("big.png", png(32, 32))], user=world.manager)
    assert report.refused[0].code == "too_large" and "limit of 100 bytes" in report.refused[0].reason
    assert_nothing_written(clean_state)


def test_pixel_limit_comes_from_settings(world, clean_state, settings):
    settings.CLICKLABEL_MAX_IMAGE_PIXELS = 100
    report = image_upload_files(project=world.project, files=[("wide.png", png(20, 10))], user=world.manager)
    assert report.refused[0].code == "too_many_pixels"
    assert_nothing_written(clean_state)


def test_cmyk_jpeg_is_stored_as_rgb_jpeg_and_says_so(world):
    cmyk = encode(PILImage.fromarray(rgb_array()).convert("CMYK"), "JPEG", quality=95)
    [accepted] = image_upload_files(project=world.project, files=[("print.jpg", cmyk)], user=world.manager).accepted
    assert "CMYK converted to RGB" in accepted.note
    image = Image.objects.get(pk=accepted.image_id)
    assert image.file.name.endswith(".jpg") and (image.width, image.height) == (24, 16)
    assert _stored_pixels(image).shape == (16, 24, 3)


def test_16_bit_greyscale_is_scaled_to_8_bit(world):
    values = np.array([[0, 257, 65535, 32896]], dtype=np.uint16).repeat(4, axis=0)
    data = encode(PILImage.fromarray(values), "PNG")
    [accepted] = image_upload_files(project=world.project, files=[("deep.png", data)], user=world.manager).accepted
    assert "16-bit" in accepted.note
    pixels = _stored_pixels(Image.objects.get(pk=accepted.image_id))
    np.testing.assert_array_equal(pixels[0, :, 0], [0, 1, 255, 128])


def test_palette_and_alpha_images_become_rgb_flattened_on_white(world):
    palette = encode(PILImage.fromarray(rgb_array(seed=3)).convert("P"), "PNG")
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half fully transparent
    report = image_upload_files(project=world.project,
                                files=[("pal.png", palette), ("alpha.png", encode(PILImage.fromarray(rgba), "PNG"))],
                                user=world.manager)
    notes = {a.name: a.note for a in report.accepted}
    assert "palette image converted to RGB" in notes["pal.png"]
    assert "flattened on white" in notes["alpha.png"]
    pixels = _stored_pixels(Image.objects.get(pk=report.accepted[1].image_id))
    assert (pixels[:2] == [200, 0, 0]).all() and (pixels[2:] == 255).all()


def test_exif_orientation_is_applied_once_and_the_tag_removed(world):
    original = rgb_array(24, 16, seed=5)
    exif = PILImage.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = encode(PILImage.fromarray(original), "PNG", exif=exif)
    [accepted] = image_upload_files(project=world.project, files=[("phone.png", data)], user=world.manager).accepted
    assert "EXIF orientation 6" in accepted.note
    image = Image.objects.get(pk=accepted.image_id)
    assert (image.width, image.height) == (16, 24)
    np.testing.assert_array_equal(_stored_pixels(image), np.rot90(original, k=-1))
    with image.file.open("rb") as fh, PILImage.open(fh) as stored:
        assert stored.getexif().get(0x0112) is None


def test_exif_rotated_jpeg_stays_jpeg_without_orientation(world):
    exif = PILImage.Exif()
    exif[0x0112] = 8
    [accepted] = image_upload_files(project=world.project, files=[("cam.jpg", jpeg(24, 16, exif=exif))],
                                    user=world.manager).accepted
    image = Image.objects.get(pk=accepted.image_id)
    with image.file.open("rb") as fh, PILImage.open(fh) as stored:
        assert stored.format == "JPEG" and stored.size == (16, 24) and stored.getexif().get(0x0112) is None


def test_checksum_is_sha256_of_the_stored_bytes(world):
    [accepted] = image_upload_files(project=world.project, files=[("a.png", png(seed=11))], user=world.manager).accepted
    image = Image.objects.get(pk=accepted.image_id)
    import hashlib
    with image.file.open("rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == image.checksum


def test_duplicates_in_one_upload_and_against_the_project_are_refused(world):
    data = png(seed=21)
    first = image_upload_files(project=world.project, files=[("one.png", data), ("copy.png", data)], user=world.manager)
    assert [a.name for a in first.accepted] == ["one.png"]
    assert first.refused[0].code == "duplicate" and "same image as one.png" in first.refused[0].reason
    state = {"rows": Image.objects.count(), "files": media_files()}
    again = image_upload_files(project=world.project, files=[("again.png", data)], user=world.manager)
    assert again.accepted == [] and again.refused[0].code == "duplicate"
    assert "already in the project as 'one.png'" in again.refused[0].reason
    assert_nothing_written(state)
    # the same picture is fine in another project
    assert len(image_upload_files(project=world.other_project, files=[("x.png", data)],
                                  user=world.outsider).accepted) == 1


def test_good_files_are_kept_when_others_in_the_batch_are_refused(world):
    report = image_upload_files(project=world.project, files=[("ok.png", png(seed=31)), ("bad.png", b"")],
                                user=world.manager)
    assert [a.name for a in report.accepted] == ["ok.png"] and [r.name for r in report.refused] == ["bad.png"]
    assert Image.objects.get(pk=report.accepted[0].image_id).original_name == "ok.png"


def test_a_storage_failure_rolls_back_rows_and_deletes_written_files(world, clean_state, monkeypatch):
    real_save = FileSystemStorage._save
    calls = {"n": 0}

    def failing_save(self, name, content):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        image_upload_files(project=world.project, files=[("a.png", png(seed=41)), ("b.png", png(seed=42))],
                           user=world.manager)
    assert calls["n"] == 2
    assert_nothing_written(clean_state)


# --- zips -------------------------------------------------------------------------------------------

def test_zip_with_good_images_in_folders(world):
    data = zip_of({"set/a.png": png(seed=51), "set/b.jpg": jpeg(seed=52), "set/": b""})
    report = image_upload_zip(project=world.project, archive=data, user=world.manager)
    assert sorted(a.name for a in report.accepted) == ["set/a.png", "set/b.jpg"] and report.refused == []


@pytest.mark.parametrize("path", ["../evil.png", "a/../../evil.png", "/etc/evil.png", "C:/evil.png",
                                  "..\\evil.png"])
def test_zip_slip_members_are_refused(world, clean_state, path):
    report = image_upload_zip(project=world.project, archive=zip_of({path: png(seed=61)}), user=world.manager)
    assert report.accepted == []
    [refused] = report.refused
    assert refused.code == "unsafe_path" and "zip-slip" in refused.reason
    assert_nothing_written(clean_state)


@pytest.mark.parametrize("path,why", [("/x", "absolute"), ("a/../../x", ".."), ("D:\\x", "drive"), ("a/b.png", "")])
def test_unsafe_member_path(path, why):
    assert (why in unsafe_member_path(path)) if why else unsafe_member_path(path) == ""


def test_symlinks_nested_zips_and_metadata_in_a_zip_are_refused(world, clean_state):
    inner = zip_of({"x.png": png(seed=71)})
    data = zip_of({"inner.zip": inner, "disguised.png": inner, "__MACOSX/._a.png": b"\x00\x05",
                   "empty.png": b""}, symlinks={"link.png": "/etc/passwd"})
    report = image_upload_zip(project=world.project, archive=data, user=world.manager)
    codes = {r.name: r.code for r in report.refused}
    assert codes == {"inner.zip": "nested_archive", "disguised.png": "nested_archive",
                     "__MACOSX/._a.png": "metadata", "empty.png": "empty", "link.png": "symlink"}
    assert report.accepted == []
    assert_nothing_written(clean_state)


@pytest.mark.parametrize("data", [b"PK\x03\x04 this is not really a zip", b"not a zip at all", b""],
                         ids=["bad-header", "garbage", "empty"])
def test_corrupt_zip_is_refused_as_a_whole(world, clean_state, data):
    with pytest.raises(UploadRejected) as caught:
        image_upload_zip(project=world.project, archive=data, user=world.manager)
    assert caught.value.status == 400
    assert caught.value.details["reason"] in {"corrupt_zip", "empty"}
    assert_nothing_written(clean_state)


def test_zip_bomb_is_refused_before_extracting(world, clean_state, settings):
    settings.CLICKLABEL_MAX_ZIP_UNCOMPRESSED_BYTES = 1024 * 1024
    data = zip_of({"a.png": png(seed=81), "bomb.png": bytes(4 * 1024 * 1024)})
    assert len(data) < 20_000  # 4 MiB of zeros deflate to a few KiB
    with pytest.raises(UploadRejected) as caught:
        image_upload_zip(project=world.project, archive=data, user=world.manager)
    assert caught.value.details["reason"] == "zip_bomb" and "zip bomb" in caught.value.message
    assert_nothing_written(clean_state)


def test_too_many_zip_members_are_refused(world, clean_state, settings):
    settings.CLICKLABEL_MAX_ZIP_MEMBERS = 2
    data = zip_of({f"{i}.png": png(4, 4, seed=90 + i) for i in range(3)})
    with pytest.raises(UploadRejected, match="3 files, more than the limit of 2"):
        image_upload_zip(project=world.project, archive=data, user=world.manager)
    assert_nothing_written(clean_state)


def test_zip_member_lying_about_its_size_is_refused(world, clean_state):
    good = png(seed=95)
    data = bytearray(zip_of({"liar.png": good}))
    # shrink the declared uncompressed size in the central directory: zipfile must stop there (CRC error)
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.infolist()[0]
    central = bytes(data).rfind(b"PK\x01\x02")
    size_at = central + 24
    assert int.from_bytes(data[size_at:size_at + 4], "little") == info.file_size
    data[size_at:size_at + 4] = (10).to_bytes(4, "little")
    report = image_upload_zip(project=world.project, archive=bytes(data), user=world.manager)
    assert report.accepted == [] and report.refused[0].code in {"corrupt", "not_an_image"}
    assert_nothing_written(clean_state)


def test_loose_zip_passed_to_add_images_is_expanded(world):
    report = image_upload_files(project=world.project, files=[("batch.zip", zip_of({"p.png": png(seed=99)}))],
                                user=world.manager)
    assert [a.name for a in report.accepted] == ["p.png"]


@pytest.mark.parametrize("who", ["annotator", "reviewer", "outsider"])
def test_only_managers_may_upload(world, clean_state, who):
    from labeling.errors import ClickLabelError
    with pytest.raises(ClickLabelError) as caught:
        image_upload_files(project=world.project, files=[("a.png", png(seed=123))], user=getattr(world, who))
    assert caught.value.status in (403, 404)
    assert_nothing_written(clean_state)


def _declare_size(data: bytes, member_index: int, size: int) -> bytes:
    """Rewrite the uncompressed size a zip's central directory declares for one member."""
    out = bytearray(data)
    at = -1
    for _ in range(member_index + 1):
        at = bytes(out).find(b"PK\x01\x02", at + 1)
    out[at + 24:at + 28] = size.to_bytes(4, "little")
    return bytes(out)


def test_zip_declaring_more_than_the_default_limit_is_refused_without_reading(world, clean_state):
    data = zip_of({"a.png": png(seed=201), "b.png": png(seed=202)})
    data = _declare_size(_declare_size(data, 0, 0xFFFFFFFF), 1, 0xFFFFFFFF)  # 2 x 4 GiB declared
    with pytest.raises(UploadRejected, match="zip bomb") as caught:
        image_upload_zip(project=world.project, archive=data, user=world.manager)
    assert "8,589,934,590 bytes" in caught.value.message
    assert_nothing_written(clean_state)


def test_a_bad_zip_among_loose_files_is_one_refusal(world):
    report = image_upload_files(project=world.project,
                                files=[("ok.png", png(seed=211)), ("broken.zip", b"PK\x03\x04oops")],
                                user=world.manager)
    assert [a.name for a in report.accepted] == ["ok.png"]
    assert report.refused[0].name == "broken.zip" and report.refused[0].code == "corrupt_zip"


def test_16_bit_rgb_png_is_reduced_to_8_bit_and_says_so(world):
    import cv2
    deep = (np.arange(4 * 6 * 3).reshape(4, 6, 3) * 1000).astype(np.uint16)
    ok, encoded = cv2.imencode(".png", deep)
    assert ok
    [accepted] = image_upload_files(project=world.project, files=[("deep-rgb.png", encoded.tobytes())],
                                    user=world.manager).accepted
    assert "16-bit samples converted to 8-bit" in accepted.note
