"""The image core, shared by the Lambda handlers and the Fargate worker: validate, describe, render, route.

Its records are NamedTuples, not dataclasses, for the Lambdas' cold start (see the `pipeline` package).
"""

from .errors import CorruptImage, ImageError, ImageTooLarge, TooManyPixels, UnsupportedFormat
from .inspect import ImageHeader, inspect_image, sniff_format
from .metadata import ImageMetadata, describe
from .renditions import Rendition, fit, output_format, render_renditions, rendition_key
from .routing import FARGATE, LAMBDA, RouteDecision, choose_route, decode_bytes
from .settings import ImagingLimits, ImagingSettings, RenditionSpec

__all__ = [
    "FARGATE",
    "LAMBDA",
    "CorruptImage",
    "ImageError",
    "ImageHeader",
    "ImageMetadata",
    "ImageTooLarge",
    "ImagingLimits",
    "ImagingSettings",
    "Rendition",
    "RenditionSpec",
    "RouteDecision",
    "TooManyPixels",
    "UnsupportedFormat",
    "choose_route",
    "decode_bytes",
    "describe",
    "fit",
    "inspect_image",
    "output_format",
    "render_renditions",
    "rendition_key",
    "sniff_format",
]
