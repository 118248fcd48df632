"""What the image core may accept and what it produces; read from the function's environment, set by the profile."""

import os
from collections.abc import Mapping
from typing import NamedTuple

from pipeline.contract import (
    KEEP_PERSONAL_EXIF_ENV,
    MAX_IMAGE_BYTES_ENV,
    MAX_IMAGE_PIXELS_ENV,
    RENDITION_FORMAT_ENV,
    RENDITION_QUALITY_ENV,
    RENDITION_SIZES_ENV,
)

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
OUTPUT_FORMATS = ("AUTO", "JPEG", "PNG", "WEBP")
"""AUTO: JPEG for opaque images, WebP (which keeps transparency) for images with an alpha channel."""
DEFAULT_SIZES = (1024, 512, 128)


class ImagingLimits(NamedTuple):
    """What an upload may be; anything beyond is refused before its pixels are decoded."""

    max_bytes: int = 40 * 1024 * 1024
    max_pixels: int = 200_000_000
    """Checked from the header before decoding. Cameras stop near 100 MP; panoramas and scans go beyond, and the
    biggest of those are rendered by the Fargate task, not the Lambda (see routing.py)."""
    formats: tuple[str, ...] = ALLOWED_FORMATS


class RenditionSpec(NamedTuple):
    """What each upload is rendered to. A NamedTuple checks nothing when it is made, so the environment, the one
    source of a spec that is not code, goes through `checked`: a spec that cannot be rendered fails before any image."""

    sizes: tuple[int, ...] = DEFAULT_SIZES
    """Longest side of each rendition in pixels; an image is never enlarged."""
    format: str = "AUTO"
    quality: int = 82

    def checked(self) -> "RenditionSpec":
        """This spec, or a ValueError saying what makes it unrenderable."""
        if not self.sizes or any(size < 1 for size in self.sizes):
            raise ValueError(f"rendition sizes must be positive, got {self.sizes}")
        if self.format not in OUTPUT_FORMATS:
            raise ValueError(f"rendition format {self.format!r} is not one of {', '.join(OUTPUT_FORMATS)}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"rendition quality must be 1-100, got {self.quality}")
        return self


class ImagingSettings(NamedTuple):
    """The image core's settings as one value, so that a handler reads its environment once."""

    limits: ImagingLimits = ImagingLimits()
    renditions: RenditionSpec = RenditionSpec()
    keep_personal_exif: bool = False
    """GPS position, owner and serial numbers stay out of renditions and records unless this is on."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "ImagingSettings":
        """`RENDITION_SIZES=1024,512,128`, `RENDITION_FORMAT`, `RENDITION_QUALITY`, `MAX_IMAGE_BYTES`,
        `MAX_IMAGE_PIXELS`, `KEEP_PERSONAL_EXIF`; unset variables keep the defaults above."""
        env = os.environ if environ is None else environ
        limits, spec = ImagingLimits(), RenditionSpec()
        sizes = tuple(int(size) for size in env[RENDITION_SIZES_ENV].split(",")) if RENDITION_SIZES_ENV in env else None
        return cls(
            limits=ImagingLimits(
                max_bytes=int(env.get(MAX_IMAGE_BYTES_ENV, limits.max_bytes)),
                max_pixels=int(env.get(MAX_IMAGE_PIXELS_ENV, limits.max_pixels)),
            ),
            renditions=RenditionSpec(
                sizes=sizes or spec.sizes,
                format=env.get(RENDITION_FORMAT_ENV, spec.format).upper(),
                quality=int(env.get(RENDITION_QUALITY_ENV, spec.quality)),
            ).checked(),
            keep_personal_exif=env.get(KEEP_PERSONAL_EXIF_ENV, "false").lower() == "true",
        )
