"""Where an image is processed: the Lambda when its decode fits the function's memory, the Fargate task otherwise.

The estimate comes from the header alone. A JPEG is decoded at reduced scale (see renditions.py), so its cost is
set by the largest rendition, not by the photo; PNG and WebP decode at full size (4 bytes a pixel with alpha,
3 without) and the conversion for output can briefly hold a second copy.
"""

from typing import NamedTuple

from pipeline.contract import ROUTE_FARGATE as FARGATE
from pipeline.contract import ROUTE_LAMBDA as LAMBDA

from .inspect import ImageHeader
from .renditions import fit
from .settings import RenditionSpec

RUNTIME_OVERHEAD_BYTES = 120 * 1024 * 1024
"""Python, Pillow, boto3 and Powertools resident, plus the downloaded original held in memory."""
USABLE_FRACTION = 0.8
"""Headroom: the estimate is a model, and an out-of-memory Lambda fails without a useful error."""
JPEG_SCALES = (1, 2, 4, 8)


class RouteDecision(NamedTuple):
    """Where an image goes, and the estimate behind it, which the record keeps as the route's reason."""

    route: str
    estimated_bytes: int
    budget_bytes: int

    @property
    def reason(self) -> str:
        verdict = "fits" if self.route == LAMBDA else "does not fit"
        return (
            f"decoding needs about {self.estimated_bytes / 2**20:.0f} MB, which {verdict} the Lambda's "
            f"{self.budget_bytes / 2**20:.0f} MB budget"
        )


def decode_bytes(header: ImageHeader, spec: RenditionSpec) -> int:
    """Peak pixel memory of our decode path for this image, from its header."""
    if header.format == "JPEG":
        width, height = _jpeg_decoded_size(header, max(spec.sizes))
        bands = 4 if header.mode == "CMYK" else 3
        return width * height * bands * 2  # decoded + converted/resized working copy
    bands = 4 if header.has_alpha or header.mode in ("RGBA", "CMYK") else 3
    return header.pixels * bands * 2


def choose_route(header: ImageHeader, spec: RenditionSpec, memory_mb: int) -> RouteDecision:
    budget = int(memory_mb * 2**20 * USABLE_FRACTION) - RUNTIME_OVERHEAD_BYTES - header.size_bytes
    estimate = decode_bytes(header, spec)
    return RouteDecision(LAMBDA if estimate <= budget else FARGATE, estimate, max(budget, 0))


def _jpeg_decoded_size(header: ImageHeader, largest: int) -> tuple[int, int]:
    """libjpeg's DCT scaling: the smallest 1/n that still covers the largest rendition (what `draft` picks)."""
    target_width, target_height = fit((header.width, header.height), largest)
    if header.mode == "CMYK":
        return header.width, header.height  # draft cannot reduce CMYK: it decodes at full size
    for scale in reversed(JPEG_SCALES):
        width, height = -(-header.width // scale), -(-header.height // scale)
        if width >= target_width and height >= target_height:
            return width, height
    return header.width, header.height
