"""Validation before decoding: size, format by magic bytes, dimensions from the header, structural completeness.

Nothing here decodes pixels, so a decompression bomb or a 40 MB upload costs a few kilobytes of reading to refuse.
"""

import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .errors import CorruptImage, ImageTooLarge, TooManyPixels, UnsupportedFormat
from .settings import ImagingLimits

Source = bytes | Path

ORIENTATION_TAG = 0x0112
SWAPPED_ORIENTATIONS = frozenset({5, 6, 7, 8})
"""EXIF orientations that rotate by 90 degrees: the displayed width is the stored height."""

_SIGNATURES: tuple[tuple[str, bytes, int], ...] = (
    ("JPEG", b"\xff\xd8\xff", 0),
    ("PNG", b"\x89PNG\r\n\x1a\n", 0),
    ("WEBP", b"WEBP", 8),
    ("GIF", b"GIF8", 0),
    ("TIFF", b"II*\x00", 0),
    ("TIFF", b"MM\x00*", 0),
    ("BMP", b"BM", 0),
    ("HEIF", b"ftyp", 4),
    ("PDF", b"%PDF", 0),
)
_TAIL_BYTES = 16


@dataclass(frozen=True)
class ImageHeader:
    """What the header says, before any pixel is decoded."""

    format: str
    width: int
    height: int
    mode: str
    orientation: int
    size_bytes: int
    frames: int
    has_alpha: bool

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as the image is meant to be seen, after its EXIF orientation."""
        swapped = self.orientation in SWAPPED_ORIENTATIONS
        return (self.height, self.width) if swapped else (self.width, self.height)


def sniff_format(head: bytes) -> str:
    """The container format from its magic bytes, or UnsupportedFormat/CorruptImage."""
    if not head:
        raise CorruptImage("the file is empty")
    for name, signature, offset in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature and (name != "WEBP" or head[:4] == b"RIFF"):
            return name
    raise UnsupportedFormat("the file's first bytes match no image format")


def inspect_image(source: Source, limits: ImagingLimits) -> ImageHeader:
    """Refuse anything over the limits or incomplete, reading only the header and the last bytes."""
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    if size > limits.max_bytes:
        raise ImageTooLarge(f"the file is {size:,} bytes; the limit is {limits.max_bytes:,} bytes")
    head, tail = _ends(source, size)
    kind = sniff_format(head)
    if kind not in limits.formats:
        raise UnsupportedFormat(f"{kind} is not accepted; allowed formats are {', '.join(limits.formats)}")
    _check_complete(kind, head, tail, size)
    header = _read_header(source, kind, size)
    if header.pixels > limits.max_pixels:
        raise TooManyPixels(
            f"the header declares {header.width}x{header.height} = {header.pixels:,} pixels; "
            f"the limit is {limits.max_pixels:,} (refused before decoding)"
        )
    return header


def open_image(source: Source) -> Image.Image:
    """Open lazily (header only); Pillow's own bomb check is ours to make, so it is not allowed to warn or raise."""
    stream = source.open("rb") if isinstance(source, Path) else io.BytesIO(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(stream)
        except Image.DecompressionBombError as error:
            raise TooManyPixels(f"the header declares too many pixels ({error})") from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as error:
            raise CorruptImage(f"the header cannot be read: {error}") from error


def _ends(source: Source, size: int) -> tuple[bytes, bytes]:
    if isinstance(source, Path):
        with source.open("rb") as file:
            head = file.read(64)
            file.seek(max(0, size - _TAIL_BYTES))
            return head, file.read()
    return source[:64], source[-_TAIL_BYTES:]


def _check_complete(kind: str, head: bytes, tail: bytes, size: int) -> None:
    """Truncated uploads are caught from their structure: a JPEG ends with EOI, a PNG with IEND, and a WebP's
    RIFF header states its length."""
    if kind == "JPEG" and b"\xff\xd9" not in tail:
        raise CorruptImage("the JPEG is truncated: it does not end with an end-of-image marker")
    if kind == "PNG" and b"IEND" not in tail:
        raise CorruptImage("the PNG is truncated: it does not end with an IEND chunk")
    if kind == "WEBP":
        declared = struct.unpack("<I", head[4:8])[0] + 8
        if declared > size:
            raise CorruptImage(f"the WebP is truncated: its header declares {declared:,} bytes, the file has {size:,}")


def _read_header(source: Source, kind: str, size: int) -> ImageHeader:
    with open_image(source) as image:
        if image.format != kind:
            raise CorruptImage(f"the data starts like {kind} but reads as {image.format}")
        orientation = _orientation(image)
        return ImageHeader(
            format=kind,
            width=image.width,
            height=image.height,
            mode=image.mode,
            orientation=orientation,
            size_bytes=size,
            frames=getattr(image, "n_frames", 1),
            has_alpha=image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info,
        )


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, 1 (as stored) when absent or unreadable: bad EXIF must not cost the whole image."""
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except (OSError, SyntaxError, ValueError, struct.error):
        return 1
    return value if value in range(1, 9) else 1
