"""The record of an image: what it is, a content hash, and the EXIF fields worth keeping.

Personal EXIF (GPS position, owner, serial numbers) is dropped unless the profile keeps it: renditions never carry
any EXIF at all (see renditions.py), and the table only gets these selected, JSON-safe fields.
"""

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from PIL import ExifTags, Image

from .inspect import ImageHeader, Source, open_image

CAMERA_TAGS = {
    ExifTags.Base.Make: "make",
    ExifTags.Base.Model: "model",
    ExifTags.Base.Software: "software",
    ExifTags.Base.DateTime: "dateTime",
}
EXPOSURE_TAGS = {
    ExifTags.Base.DateTimeOriginal: "dateTimeOriginal",
    ExifTags.Base.ExposureTime: "exposureTime",
    ExifTags.Base.FNumber: "fNumber",
    ExifTags.Base.ISOSpeedRatings: "iso",
    ExifTags.Base.FocalLength: "focalLength",
    ExifTags.Base.LensModel: "lensModel",
}
PERSONAL_TAGS = {
    ExifTags.Base.Artist: "artist",
    ExifTags.Base.CameraOwnerName: "cameraOwner",
    ExifTags.Base.BodySerialNumber: "bodySerialNumber",
    ExifTags.Base.LensSerialNumber: "lensSerialNumber",
}
GPS_TAGS = {
    ExifTags.GPS.GPSLatitudeRef: "latitudeRef",
    ExifTags.GPS.GPSLatitude: "latitude",
    ExifTags.GPS.GPSLongitudeRef: "longitudeRef",
    ExifTags.GPS.GPSLongitude: "longitude",
    ExifTags.GPS.GPSAltitude: "altitude",
}


class ImageMetadata(NamedTuple):
    """What the record keeps of an image: its header's facts, its content hash and the selected EXIF."""

    format: str
    width: int
    height: int
    mode: str
    orientation: int
    size_bytes: int
    sha256: str
    frames: int
    exif: dict[str, Any]

    def to_record(self) -> dict[str, Any]:
        """camelCase, JSON-safe: what the table and the workflow carry."""
        record = self._asdict()
        record["sizeBytes"] = record.pop("size_bytes")
        return record


def describe(source: Source, header: ImageHeader, *, keep_personal_exif: bool) -> ImageMetadata:
    """Reads the EXIF block (not the pixels) and hashes the bytes."""
    with open_image(source, header.format) as image:
        exif = _selected_exif(image, keep_personal_exif)
    return ImageMetadata(
        format=header.format,
        width=header.width,
        height=header.height,
        mode=header.mode,
        orientation=header.orientation,
        size_bytes=header.size_bytes,
        sha256=_sha256(source),
        frames=header.frames,
        exif=exif,
    )


def _sha256(source: Source) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with source.open("rb") as file:
        for chunk in iter(lambda: file.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _selected_exif(image: Image.Image, keep_personal: bool) -> dict[str, Any]:
    try:
        exif = image.getexif()
        exposure = exif.get_ifd(ExifTags.IFD.Exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo) if keep_personal else {}
    except (OSError, SyntaxError, ValueError, KeyError):
        return {}  # unreadable EXIF costs the EXIF, not the image
    selected = _pick(exif, CAMERA_TAGS) | _pick(exposure, EXPOSURE_TAGS)
    if keep_personal:
        selected |= _pick(exif, PERSONAL_TAGS) | _pick(exposure, PERSONAL_TAGS)
        if gps:
            selected["gps"] = _pick(gps, GPS_TAGS)
    return selected


def _pick(tags: Mapping[int, Any], names: Mapping[int, str]) -> dict[str, Any]:
    return {name: _json_safe(tags[tag]) for tag, name in names.items() if tag in tags}


def _json_safe(value: Any) -> Any:
    """EXIF values come as rationals, bytes and tuples; the record wants strings and numbers."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").rstrip("\x00").strip()
    if isinstance(value, str):
        return value.rstrip("\x00").strip()
    if isinstance(value, tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, int | float):
        return value
    try:
        return round(value.numerator / value.denominator, 6)  # int / int rounds correctly, as Fraction did
    except (AttributeError, ZeroDivisionError, TypeError):
        return str(value)
