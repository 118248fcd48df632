"""Validation before decoding: size, format by magic bytes, dimensions from the header, structural completeness.

Nothing here decodes pixels: a decompression bomb is refused from its header, a 40 MB upload before it is read, and
a JPEG's completeness is checked by walking its markers over a memory map of the file (a few milliseconds for a
24 MP photo, and no copy of it in memory).
"""

import io
import mmap
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import NamedTuple

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
PLUGINS = {"JPEG": "JpegImagePlugin", "PNG": "PngImagePlugin", "WEBP": "WebPImagePlugin"}
"""Pillow's plugin of each format the core opens or writes, loaded by `pillow_format` on first use. Left to guess a
format, Pillow loads its five common plugins (JPEG and PNG among them) and, for any other format, WebP included, all
forty-odd it has (`Image.init`): about 30 ms of the first invocation that meets a WebP, for plugins never used.
Opened as its sniffed format alone, a file is read by that format's plugin or refused as corrupt, never taken for
another format (a JPEG with an MPF index, as phones write them, opens as Pillow's MPO, a JPEG)."""
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xff]")
"""A marker is FF and a code that is neither 00 nor FF; the FF before it may be the last of a run of fill bytes."""
_JPEG_SCAN_END = re.compile(rb"\xff[\xc0-\xcf\xd9-\xfe]")
"""A scan's compressed data ends at the next marker that may follow it (tables, APPn, COM, the next SOS, EOI...).
Within the data FF 00 is a stuffed FF, FF D0-D7 are restart markers and FF FF is fill; SOI and the reserved codes
02-BF never occur in valid data, so garbage is left for the decoder to report rather than taken for the scan's end."""
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})
"""TEM, RST0-7 and SOI carry no length; every other marker starts a segment with a 2-byte big-endian length."""
_JPEG_EOI, _JPEG_SOS = 0xD9, 0xDA


class ImageHeader(NamedTuple):
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
    """Refuse anything over the limits or incomplete, reading only the header, the last bytes and, for a JPEG, its
    marker structure."""
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    if size > limits.max_bytes:
        raise ImageTooLarge(f"the file is {size:,} bytes; the limit is {limits.max_bytes:,} bytes")
    head, tail = _ends(source, size)
    kind = sniff_format(head)
    if kind not in limits.formats:
        raise UnsupportedFormat(f"{kind} is not accepted; allowed formats are {', '.join(limits.formats)}")
    _check_complete(kind, source, head, tail, size)
    header = _read_header(source, kind, size)
    if header.pixels > limits.max_pixels:
        raise TooManyPixels(
            f"too many pixels: the header declares {header.width}x{header.height} = {header.pixels:,} pixels; "
            f"the limit is {limits.max_pixels:,} (refused before decoding)"
        )
    return header


Image.MAX_IMAGE_PIXELS = None
"""Pillow's own decompression-bomb guard is off for the process: it warns above `MAX_IMAGE_PIXELS` (~89.5 MP by
default) and refuses above twice it, so it would refuse at ~179 MP what our configured limit
(`ImagingLimits.max_pixels`) accepts. `inspect_image` checks the header against the configured limit before any
pixel is decoded, as the single refusal, and every later open (metadata, rendering) is of a file that check accepted.
Set once at import rather than around each open: the setting is process-wide, and several handlers share a process
in the local cloud."""


def pillow_format(kind: str) -> str:
    """`kind` (a format `sniff_format` names), with its Pillow plugin loaded: what to open or save it as."""
    import_module(f"PIL.{PLUGINS[kind]}")
    return kind


@contextmanager
def open_image(source: Source, kind: str) -> Iterator[Image.Image]:
    """Open lazily (header only) as `kind`, for as long as the `with` block lasts; the file is closed with it."""
    with source.open("rb") if isinstance(source, Path) else io.BytesIO(source) as stream:
        try:
            image = Image.open(stream, formats=(pillow_format(kind),))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as error:
            raise CorruptImage(f"the header cannot be read: {error}") from error
        with image:
            yield image


def _ends(source: Source, size: int) -> tuple[bytes, bytes]:
    if isinstance(source, Path):
        with source.open("rb") as file:
            head = file.read(64)
            file.seek(max(0, size - _TAIL_BYTES))
            return head, file.read()
    return source[:64], source[-_TAIL_BYTES:]


def _check_complete(kind: str, source: Source, head: bytes, tail: bytes, size: int) -> None:
    """Truncated uploads are caught from their structure: a JPEG reaches its EOI, a PNG ends with IEND, and a
    WebP's RIFF header states its length."""
    if kind == "JPEG":
        _check_jpeg_reaches_eoi(source)
    if kind == "PNG" and b"IEND" not in tail:
        raise CorruptImage("the PNG is truncated: it does not end with an IEND chunk")
    if kind == "WEBP":
        declared = struct.unpack("<I", head[4:8])[0] + 8
        if declared > size:
            raise CorruptImage(f"the WebP is truncated: its header declares {declared:,} bytes, the file has {size:,}")


def _check_jpeg_reaches_eoi(source: Source) -> None:
    """A JPEG is complete when its structure reaches the end-of-image marker; what follows EOI is not ours to judge.

    Phones append data after EOI (a Motion Photo's MP4, Samsung's SEFT trailer, an MPF file's further JPEGs), and
    any of it may hold FF D9, as may an EXIF thumbnail inside an APP1 segment. So the file is walked from SOI:
    segments are skipped by their length, and a scan's compressed data up to the next marker.
    """
    if isinstance(source, bytes):
        _walk_jpeg(source)
        return
    with source.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        _walk_jpeg(data)


def _walk_jpeg(data: bytes | mmap.mmap) -> None:
    """From after SOI to EOI, with regular expressions over the buffer: no Python loop over the compressed bytes."""
    position = 2
    while marker := _JPEG_MARKER.search(data, position):
        code, position = data[marker.start() + 1], marker.end()
        if code == _JPEG_EOI:
            return
        if code in _JPEG_STANDALONE:
            continue
        if position + 2 > len(data):
            break
        position += int.from_bytes(data[position : position + 2], "big")
        if code == _JPEG_SOS:
            if not (scan_end := _JPEG_SCAN_END.search(data, position)):
                break
            position = scan_end.start()
    raise CorruptImage("the JPEG is truncated: its data ends before the end-of-image marker")


def _read_header(source: Source, kind: str, size: int) -> ImageHeader:
    with open_image(source, kind) as image:
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
