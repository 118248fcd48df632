"""Images made in the tests: photo-like content (gradients, noise, edges) in every format and shape we accept,
and every kind of bad input we refuse. Deterministic, so failures reproduce."""

import io
import struct
import zlib

from PIL import Image, ImageDraw

GPS_IFD = 0x8825
ORIENTATION = 0x0112
SOF0 = b"\xff\xc0"


def photo(width: int = 640, height: int = 480, mode: str = "RGB", seed: int = 7) -> Image.Image:
    """Smooth gradients with noise and a few hard edges: decodes and compresses like a photo, unlike a flat fill."""
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40 + seed % 20)
    red = Image.blend(gradient, noise, 0.3)
    green = gradient.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    blue = Image.radial_gradient("L").resize((width, height))
    image = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(image)
    draw.rectangle(
        (width // 5, height // 5, width // 2, height // 2), outline=(255, 255, 255), width=max(2, width // 100)
    )
    draw.ellipse((width // 2, height // 3, width - width // 8, height - height // 8), fill=(200, 40, 30))
    return image.convert(mode) if mode != "RGB" else image


def exif(orientation: int | None = None, gps: bool = False, **base: object) -> Image.Exif:
    data = Image.Exif()
    if orientation:
        data[ORIENTATION] = orientation
    for tag, value in base.items():
        data[int(tag)] = value
    if gps:
        data.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    return data


def jpeg(image: Image.Image | None = None, quality: int = 90, **exif_args: object) -> bytes:
    buffer = io.BytesIO()
    (image or photo()).save(buffer, "JPEG", quality=quality, exif=exif(**exif_args))
    return buffer.getvalue()


def png(image: Image.Image | None = None) -> bytes:
    buffer = io.BytesIO()
    (image or photo()).save(buffer, "PNG")
    return buffer.getvalue()


def webp(image: Image.Image | None = None) -> bytes:
    buffer = io.BytesIO()
    (image or photo()).save(buffer, "WEBP", quality=85)
    return buffer.getvalue()


def png_with_alpha() -> bytes:
    image = photo().convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize(image.size))
    return png(image)


def cmyk_jpeg() -> bytes:
    return jpeg(photo().convert("CMYK"))


def grayscale_jpeg() -> bytes:
    return jpeg(photo(mode="L"))


def gif() -> bytes:
    buffer = io.BytesIO()
    photo().convert("P").save(buffer, "GIF")
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    data = jpeg()
    return data[: len(data) // 2]


def _png(width: int, height: int, pixel_data: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixel_data) + chunk(b"IEND", b"")


def corrupt_png() -> bytes:
    """A valid header and end chunk around pixel data that is not zlib: only decoding can tell."""
    return _png(64, 64, b"this is not deflate data" * 20)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header (8-bit RGB, CRCs correct) declares `width` x `height`: all that validation and routing
    read, built in microseconds where encoding the pixels of a 24 MP photo as PNG takes seconds."""
    return _png(width, height, zlib.compress(b"\x00" * 64))


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header declares an enormous image: a decompression bomb, refused from the header."""
    return png_declaring(width, height)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small, complete JPEG whose frame header (SOF0) declares another size: all that validation and routing read,
    without encoding (or generating) the pixels of a large photo."""
    data = bytearray(jpeg(photo(64, 48)))
    sof = data.index(SOF0)  # the first FF C0 of a Pillow baseline JPEG is its SOF0 (no table byte is FF)
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def text_named_like_an_image() -> bytes:
    return b"this is a text file uploaded as cat.jpg\n" * 10
