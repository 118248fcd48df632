"""The image core without AWS: validation before decoding, metadata, renditions and routing."""

import io
import math
from pathlib import Path

import pytest
from imaging import (
    CorruptImage,
    ImageTooLarge,
    ImagingLimits,
    ImagingSettings,
    RenditionSpec,
    TooManyPixels,
    UnsupportedFormat,
    choose_route,
    decode_bytes,
    describe,
    fit,
    inspect_image,
    render_renditions,
    rendition_key,
)
from imaging.inspect import pillow_format
from imaging.settings import ALLOWED_FORMATS, OUTPUT_FORMATS
from PIL import ExifTags, Image, ImageChops, ImageOps, ImageStat

from tests.handlers import images

LIMITS = ImagingLimits()
SPEC = RenditionSpec(sizes=(1024, 512, 128))


def open_rendition(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize(
    ("make", "expected_format"),
    [(images.jpeg, "JPEG"), (images.png, "PNG"), (images.webp, "WEBP"), (images.cmyk_jpeg, "JPEG"),
     (images.grayscale_jpeg, "JPEG"), (images.png_with_alpha, "PNG")],
    ids=["jpeg", "png", "webp", "cmyk", "grayscale", "alpha"],
)  # fmt: skip
def test_accepted_formats_are_identified_from_their_bytes(make, expected_format):
    header = inspect_image(make(), LIMITS)
    assert (header.format, header.width, header.height) == (expected_format, 640, 480)


def test_inspection_reads_a_file_as_well_as_bytes(tmp_path):
    path = tmp_path / "photo.bin"
    path.write_bytes(images.jpeg())
    assert inspect_image(path, LIMITS) == inspect_image(path.read_bytes(), LIMITS)


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (images.gif(), UnsupportedFormat, "GIF is not accepted; allowed formats are JPEG, PNG, WEBP"),
        (images.text_named_like_an_image(), UnsupportedFormat, "match no image format"),
        (b"", CorruptImage, "the file is empty"),
        (images.truncated_jpeg(), CorruptImage, "the JPEG is truncated"),
        (images.png()[:-40], CorruptImage, "the PNG is truncated"),
        (images.webp()[:-100], CorruptImage, "the WebP is truncated"),
        (images.png_bomb(), TooManyPixels, "too many pixels"),
    ],
    ids=["gif", "text", "empty", "truncated-jpeg", "truncated-png", "truncated-webp", "bomb"],
)
def test_bad_inputs_are_refused_before_decoding_with_a_typed_reason(data, error, reason):
    with pytest.raises(error, match=reason) as raised:
        inspect_image(data, LIMITS)
    assert raised.value.code == error.__name__
    assert raised.value.reason


def test_a_bomb_below_pillows_own_threshold_is_refused_by_our_limit():
    with pytest.raises(TooManyPixels, match=r"declares 10000x7000 = 70,000,000 pixels; the limit is 60,000,000"):
        inspect_image(images.png_bomb(10_000, 7_000), ImagingLimits(max_pixels=60_000_000))


def test_size_limit_is_checked_before_anything_is_read():
    with pytest.raises(ImageTooLarge, match=r"the limit is 1,000 bytes"):
        inspect_image(images.jpeg(), ImagingLimits(max_bytes=1000))


def test_corrupt_pixel_data_is_found_when_decoding():
    data = images.corrupt_png()
    header = inspect_image(data, LIMITS)
    with pytest.raises(CorruptImage, match="cannot be decoded"):
        render_renditions(data, header, SPEC)


def test_metadata_has_hash_orientation_and_safe_exif_only():
    data = images.jpeg(orientation=6, gps=True, **{str(ExifTags.Base.Make): "Canon", str(ExifTags.Base.Model): "R5",
                                                    str(ExifTags.Base.Artist): "Jane Doe"})  # fmt: skip
    header = inspect_image(data, LIMITS)
    metadata = describe(data, header, keep_personal_exif=False)
    record = metadata.to_record()
    assert record["orientation"] == 6
    assert record["sizeBytes"] == len(data)
    assert len(record["sha256"]) == 64
    assert record["exif"] == {"make": "Canon", "model": "R5"}, "GPS and the artist's name stay out of the record"
    personal = describe(data, header, keep_personal_exif=True).to_record()["exif"]
    assert personal["artist"] == "Jane Doe"
    assert personal["gps"]["latitudeRef"] == "N"
    assert personal["gps"]["latitude"] == [51.0, 30.0, 0.0], "EXIF rationals become numbers"


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("RENDITION_SIZES", "1024,0", "rendition sizes must be positive"),
        ("RENDITION_FORMAT", "gif", "rendition format 'GIF' is not one of AUTO, JPEG, PNG, WEBP"),
        ("RENDITION_QUALITY", "101", "rendition quality must be 1-100"),
    ],
)
def test_a_rendition_spec_that_cannot_be_rendered_is_refused_from_the_environment(variable, value, reason):
    with pytest.raises(ValueError, match=reason):
        ImagingSettings.from_environment({variable: value})


def test_the_environment_sets_the_image_cores_settings():
    settings = ImagingSettings.from_environment(
        {"RENDITION_SIZES": "800,200", "RENDITION_FORMAT": "webp", "RENDITION_QUALITY": "70",
         "MAX_IMAGE_BYTES": "1000", "MAX_IMAGE_PIXELS": "2000", "KEEP_PERSONAL_EXIF": "TRUE"}
    )  # fmt: skip

    assert settings == ImagingSettings(ImagingLimits(max_bytes=1000, max_pixels=2000),
                                       RenditionSpec(sizes=(800, 200), format="WEBP", quality=70), True)  # fmt: skip
    assert ImagingSettings.from_environment({}) == ImagingSettings()


@pytest.mark.parametrize(
    ("make", "mode"),
    [(images.jpeg, "RGB"), (images.png, "RGB"), (images.webp, "RGB"), (images.cmyk_jpeg, "RGB"),
     (images.grayscale_jpeg, "L")],
    ids=["jpeg", "png", "webp", "cmyk", "grayscale"],
)  # fmt: skip
def test_renditions_of_opaque_images_are_jpegs_of_the_requested_sizes(make, mode):
    data = make()
    renditions = render_renditions(data, inspect_image(data, LIMITS), SPEC)
    assert [(r.size, r.width, r.height, r.format) for r in renditions] == [
        (1024, 640, 480, "JPEG"),  # never enlarged
        (512, 512, 384, "JPEG"),
        (128, 128, 96, "JPEG"),
    ]
    for rendition in renditions:
        image = open_rendition(rendition.data)
        assert (image.format, image.mode, image.size) == ("JPEG", mode, (rendition.width, rendition.height))


def test_alpha_is_kept_as_webp():
    data = images.png_with_alpha()
    renditions = render_renditions(data, inspect_image(data, LIMITS), SPEC)
    image = open_rendition(renditions[0].data)
    assert (image.format, image.mode, renditions[0].content_type) == ("WEBP", "RGBA", "image/webp")


def test_orientation_is_applied_and_no_exif_survives():
    source = images.photo(800, 400)
    data = images.jpeg(source, orientation=6, gps=True, **{str(ExifTags.Base.Make): "Canon"})
    header = inspect_image(data, LIMITS)
    assert header.display_size == (400, 800)
    renditions = render_renditions(data, header, RenditionSpec(sizes=(200,)))
    image = open_rendition(renditions[0].data)
    assert image.size == (100, 200), "a portrait stays portrait"
    assert not image.getexif(), "no EXIF at all (GPS included) in a rendition"
    # Orientation 6 turns the top-left corner of the stored image to the top-right.
    corner = source.resize((200, 100)).getpixel((5, 5))
    assert max(abs(a - b) for a, b in zip(image.convert("RGB").getpixel((94, 5)), corner, strict=True)) < 40


def oriented(source: Image.Image, image_format: str, orientation: int) -> bytes:
    """`source` saved as `image_format` with an EXIF orientation (a PNG holds it in its eXIf chunk)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    buffer = io.BytesIO()
    source.save(buffer, image_format, exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_every_exif_orientation_shows_the_image_as_pillow_turns_it(image_format, orientation):
    """The largest rendition is resized as stored and turned after: the same picture as Pillow's exif_transpose of
    the original, resized, in every orientation."""
    data = oriented(images.photo(600, 300), image_format, orientation)
    header = inspect_image(data, LIMITS)
    [rendition] = render_renditions(data, header, RenditionSpec(sizes=(200,), format="PNG"))
    shown = ImageOps.exif_transpose(Image.open(io.BytesIO(data)).convert("RGB"))
    expected = shown.resize(fit(shown.size, 200), Image.Resampling.LANCZOS)
    image = open_rendition(rendition.data).convert("RGB")
    assert image.size == expected.size == fit(header.display_size, 200)
    assert max(high for _, high in ImageChops.difference(image, expected).getextrema()) < 48, "the same way up"


def psnr(image: Image.Image, reference: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB, over the three channels."""
    difference = ImageChops.difference(image.convert("RGB"), reference)
    mean_square = sum(rms**2 for rms in ImageStat.Stat(difference).rms) / 3
    return 10 * math.log10(255**2 / mean_square)


def test_every_rendition_is_as_faithful_as_lanczos_from_the_full_decode():
    """The speed comes from shortcuts: a decode at reduced scale, bicubic for the mild first shrink, a box reduce to
    within 2x, each size made from the one before. Together they cost at most 0.25 dB against each size resized with
    Lanczos from the full decode and encoded at the same quality (about 0.15 dB today); a cheaper filter at any step
    (Hamming for the mild shrink -0.4 dB, bilinear -0.5 dB or worse) fails here."""
    data = images.jpeg(images.photo(3000, 2000))  # the largest rendition decodes at 1/2 scale, then a 1.46x shrink
    header = inspect_image(data, LIMITS)
    full = Image.open(io.BytesIO(data)).convert("RGB")
    for rendition in render_renditions(data, header, SPEC):
        reference = full.resize((rendition.width, rendition.height), Image.Resampling.LANCZOS)
        encoded = io.BytesIO()
        reference.save(encoded, "JPEG", quality=SPEC.quality)
        best = psnr(Image.open(encoded), reference)
        got = psnr(open_rendition(rendition.data), reference)
        assert got >= best - 0.25, f"{rendition.size}: {got:.2f} dB where Lanczos from the full decode gives {best:.2f}"


def test_format_and_quality_follow_the_spec():
    data = images.jpeg()
    header = inspect_image(data, LIMITS)
    low, high = (render_renditions(data, header, RenditionSpec(sizes=(512,), format="WEBP", quality=q))[0]
                 for q in (30, 95))  # fmt: skip
    assert open_rendition(low.data).format == "WEBP"
    assert len(low.data) < len(high.data)


def test_a_large_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    # Decoded for real, so a real 17 MP JPEG; its content is upscaled, as generating 17 MP of photo costs seconds.
    data = images.jpeg(images.photo(1200, 900).resize((4800, 3600)))
    header = inspect_image(data, LIMITS)
    seen = []
    original = Image.Image.load

    def spy(image):
        result = original(image)
        seen.append(image.size)
        return result

    monkeypatch.setattr(Image.Image, "load", spy)
    render_renditions(data, header, SPEC)
    assert seen[0] == (1200, 900), "libjpeg decodes at 1/4 scale, the smallest that covers 1024 px"


def test_rendition_keys_are_deterministic_per_source_and_version():
    assert rendition_key("cats/tom.jpg", "v1", 512, "jpg") == "renditions/cats/tom.jpg/v1/512.jpg"
    assert rendition_key("cats/tom.jpg", "v1", 512, "jpg") == rendition_key("cats/tom.jpg", "v1", 512, "jpg")
    assert rendition_key("cats/tom.jpg", "v2", 512, "jpg") != rendition_key("cats/tom.jpg", "v1", 512, "jpg")


def test_jpegs_fit_the_lambda_because_they_decode_at_reduced_scale():
    header = inspect_image(images.jpeg_declaring(6000, 4000), LIMITS)
    assert decode_bytes(header, SPEC) == 1500 * 1000 * 3 * 2
    assert choose_route(header, SPEC, memory_mb=1024).route == "lambda"


def test_big_pngs_go_to_fargate_with_the_reason():
    header = inspect_image(images.png_declaring(6000, 4000), LIMITS)
    decision = choose_route(header, SPEC, memory_mb=256)
    assert decision.route == "fargate"
    assert decision.reason.startswith("decoding needs about 137 MB, which does not fit the Lambda's")
    assert choose_route(header, SPEC, memory_mb=2048).route == "lambda"


def test_paths_and_bytes_render_identically(tmp_path):
    data = images.jpeg()
    path = Path(tmp_path / "a.jpg")
    path.write_bytes(data)
    header = inspect_image(data, LIMITS)
    assert [r.data for r in render_renditions(path, header, SPEC)] == [
        r.data for r in render_renditions(data, header, SPEC)
    ]


@pytest.mark.parametrize("kind", sorted({*ALLOWED_FORMATS, *OUTPUT_FORMATS} - {"AUTO"}))
def test_every_format_accepted_or_written_has_its_pillow_plugin_named(kind):
    """The core loads one Pillow plugin per format it meets (inspect.PLUGINS), not all of them: a format added to the
    accepted or output formats without its plugin would fail on the first image of it, not here."""
    assert pillow_format(kind) == kind
    assert {kind} <= set(Image.OPEN) & set(Image.SAVE), "opened and written by the plugin loaded"
