"""Validation before decoding, at its edges: Pillow's own pixel guard against ours, and JPEGs as phones write them
(bytes after the end-of-image marker) against JPEGs that are really truncated."""

import io
import struct

import pytest
from imaging import (
    CorruptImage,
    ImagingLimits,
    RenditionSpec,
    TooManyPixels,
    describe,
    inspect_image,
    render_renditions,
)
from imaging.inspect import open_image
from PIL import Image

from tests.handlers import images

LIMITS = ImagingLimits()
SPEC = RenditionSpec(sizes=(512, 128))


def motion_photo_video() -> bytes:
    """What Google Motion Photos append after the JPEG: an MP4, whose media data may hold FF D8 and FF D9."""
    ftyp = struct.pack(">I", 24) + b"ftypmp42" + b"\x00\x00\x00\x00mp42isom"
    mdat_body = bytes(range(256)) * 8 + b"\xff\xd8\xff\xe0" + b"\xff\xd9" + b"\x00\x01" * 50
    mdat = struct.pack(">I", 8 + len(mdat_body)) + b"mdat" + mdat_body
    return ftyp + mdat


def samsung_trailer() -> bytes:
    """Samsung's trailer after EOI: tagged data blocks, then the SEFH directory of them, closed by SEFT."""
    block = b"\x00\x00\x01\x0a" + struct.pack("<I", 14) + b"Image_UTC_Data" + b"1700000000000"
    directory = b"SEFH" + struct.pack("<II", 107, 1) + struct.pack("<HHII", 0, 0x0A01, len(block) + 16, len(block))
    return block + directory + struct.pack("<I", len(directory)) + b"SEFT"


def with_exif_thumbnail(main: bytes) -> bytes:
    """`main` with an APP1 EXIF block holding a JPEG thumbnail (IFD1): a second SOI ... EOI inside a segment."""
    thumbnail = images.jpeg(images.photo(160, 120), quality=70)
    ifd0 = struct.pack("<H", 0) + struct.pack("<I", 14)  # no entries, IFD1 at offset 14
    ifd1_entries = struct.pack("<HHII", 0x0201, 4, 1, 44) + struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail))
    ifd1 = struct.pack("<H", 2) + ifd1_entries + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + ifd1 + thumbnail
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return main[:2] + app1 + main[2:]


def cut_in_scan(data: bytes) -> bytes:
    """The first three quarters: past the headers (and any thumbnail), in the middle of the compressed pixels."""
    return data[: len(data) * 3 // 4]


def progressive_jpeg() -> bytes:
    buffer = io.BytesIO()
    images.photo().save(buffer, "JPEG", quality=85, progressive=True)
    return buffer.getvalue()


def jpeg_with_restart_markers() -> bytes:
    buffer = io.BytesIO()
    images.photo().save(buffer, "JPEG", quality=85, restart_marker_rows=1)
    return buffer.getvalue()


def mpo() -> bytes:
    """A JPEG carrying an MPF index and a second JPEG after its EOI, as phones write portrait and wide shots."""
    buffer = io.BytesIO()
    images.photo().save(buffer, "MPO", save_all=True, append_images=[images.photo(320, 240, seed=3)])
    return buffer.getvalue()


# Pillow's decompression-bomb guard against our limit ------------------------------------------------------------


@pytest.mark.parametrize("make", [images.png_declaring, images.jpeg_declaring], ids=["png", "jpeg"])
def test_an_image_between_pillows_own_threshold_and_our_limit_is_accepted(make):
    header = inspect_image(make(19_000, 10_000), LIMITS)
    assert header.pixels == 190_000_000, "Pillow alone refuses anything over ~179 MP; the limit here is 200 MP"


@pytest.mark.parametrize("make", [images.png_declaring, images.jpeg_declaring], ids=["png", "jpeg"])
def test_an_image_over_our_limit_is_refused_by_our_check_with_its_reason(make):
    reason = r"^too many pixels: the header declares 21000x10000 = 210,000,000 pixels; the limit is 200,000,000"
    with pytest.raises(TooManyPixels, match=reason):
        inspect_image(make(21_000, 10_000), LIMITS)


def test_a_bomb_far_over_both_limits_is_refused_by_our_check_too():
    with pytest.raises(TooManyPixels, match=r"^too many pixels: the header declares 30000x30000 = 900,000,000"):
        inspect_image(images.png_bomb(), LIMITS)


@pytest.mark.parametrize("make", [images.jpeg, images.png, images.webp], ids=["jpeg", "png", "webp"])
def test_pillows_guard_is_off_so_that_ours_is_the_only_refusal(make):
    """Off for the process once `imaging` is imported (not around each open: handlers share the local cloud's
    process); inspection, description and rendering all open the image."""
    assert Image.MAX_IMAGE_PIXELS is None
    data = make()
    header = inspect_image(data, LIMITS)
    assert describe(data, header, keep_personal_exif=False).width == 640
    assert [r.width for r in render_renditions(data, header, SPEC)] == [512, 128]


def test_a_jpeg_followed_by_further_images_as_phones_write_them_is_a_jpeg():
    """An MPF index and a second JPEG after the first one's end: Pillow opens it as MPO, its kind of JPEG."""
    buffer = io.BytesIO()
    images.photo().save(buffer, "MPO", save_all=True, append_images=[images.photo(320, 240)])
    data = buffer.getvalue()

    header = inspect_image(data, LIMITS)

    assert (header.format, header.width, header.frames) == ("JPEG", 640, 2)
    assert [r.width for r in render_renditions(data, header, SPEC)] == [512, 128]


def test_the_file_an_image_is_read_from_is_closed_with_it(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(images.jpeg())
    with open_image(path, "JPEG") as image:
        stream = image.fp
        assert not stream.closed
    assert stream.closed


# JPEG completeness: the marker structure up to EOI, whatever follows it -----------------------------------------


@pytest.mark.parametrize(
    ("make", "trailer"),
    [
        (images.jpeg, motion_photo_video),
        (images.jpeg, samsung_trailer),
        (progressive_jpeg, motion_photo_video),
        (jpeg_with_restart_markers, samsung_trailer),
        (lambda: with_exif_thumbnail(images.jpeg()), motion_photo_video),
    ],
    ids=["motion-photo", "samsung", "progressive", "restart-markers", "exif-thumbnail"],
)
def test_bytes_after_the_end_of_image_are_accepted_and_ignored(tmp_path, make, trailer):
    jpeg = make()
    data = jpeg + trailer()
    path = tmp_path / "phone.jpg"
    path.write_bytes(data)
    header = inspect_image(data, LIMITS)
    assert inspect_image(path, LIMITS) == header
    assert (header.format, header.width, header.height, header.size_bytes) == ("JPEG", 640, 480, len(data))
    plain = render_renditions(jpeg, inspect_image(jpeg, LIMITS), SPEC)
    assert [r.data for r in render_renditions(path, header, SPEC)] == [r.data for r in plain], "the trailer is ignored"


def test_fill_bytes_before_the_end_of_image_are_part_of_the_structure():
    data = images.jpeg()
    assert inspect_image(data[:-2] + b"\xff\xff\xff\xd9" + samsung_trailer(), LIMITS).width == 640


def test_garbage_in_the_compressed_data_of_a_complete_jpeg_is_left_for_the_decoder_to_report():
    data = images.jpeg()
    scan = data.index(b"\xff\xda") + 20
    garbage = bytes((i * 37) % 256 for i in range(5000))  # FF followed by 24: a reserved marker code, not a scan end
    corrupt = data[:scan] + garbage + b"\xff\xd9"
    header = inspect_image(corrupt, LIMITS)
    with pytest.raises(CorruptImage, match="cannot be decoded"):
        render_renditions(corrupt, header, SPEC)


def test_a_multi_picture_jpeg_is_a_jpeg_rendered_from_its_first_image():
    data = mpo()
    header = inspect_image(data, LIMITS)
    assert (header.format, header.width, header.height) == ("JPEG", 640, 480)
    assert render_renditions(data, header, SPEC)[0].width == 512


@pytest.mark.parametrize(
    "data",
    [
        images.truncated_jpeg(),
        progressive_jpeg()[:-5000],
        cut_in_scan(with_exif_thumbnail(images.jpeg())),
        images.jpeg()[:-2],
    ],
    ids=["half", "progressive", "exif-thumbnail-mid-scan", "no-eoi"],
)
def test_a_truncated_jpeg_is_still_refused(tmp_path, data):
    path = tmp_path / "cut.jpg"
    path.write_bytes(data)
    for source in (data, path):
        with pytest.raises(CorruptImage, match="the JPEG is truncated"):
            inspect_image(source, LIMITS)


def test_the_end_of_an_embedded_thumbnail_is_not_taken_for_the_end_of_the_image():
    data = with_exif_thumbnail(images.jpeg())
    thumbnail_end = data.index(b"\xff\xd9") + 2  # the thumbnail's EOI, inside the APP1 segment
    with pytest.raises(CorruptImage, match="the JPEG is truncated"):
        inspect_image(data[:thumbnail_end], LIMITS)
