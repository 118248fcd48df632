"""The demo's sample uploads, generated here (nothing downloaded, nothing licensed): photo-like images in each
accepted format, one sized to go to the Fargate worker when the stack's Lambda memory allows a sample that
small, and two the pipeline refuses.

The panorama's size is found with the image core's own routing (`imaging.choose_route`) and the rendering
function's setting (`RENDER_MEMORY_MB` from the deployed environment), so it follows the stack.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

from PIL import Image, ImageDraw, ImageFilter

from handlers.pipeline.contract import RENDER_MEMORY_ENV, ROUTE_FARGATE, ROUTE_LAMBDA

MAX_PANORAMA_PIXELS = 40_000_000
"""Beyond this the sample itself would take longer to make than the whole demo takes to run."""
ORIENTATION_TAG = 0x0112
ROTATED_90 = 6


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    content_type: str
    expect: str
    """What the demo expects of it, shown in the report (`lambda`, `fargate`, `refused`)."""


def scene(width: int, height: int, seed: int = 1) -> Image.Image:
    """A photo-like scene: a sky-to-ground gradient, soft noise, a sun and hills with hard edges."""
    sky = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 24 + seed % 5 * 7).filter(ImageFilter.GaussianBlur(1))
    red = Image.blend(sky.point(lambda v: 90 + v // 2), noise, 0.25)
    green = Image.blend(sky.point(lambda v: 140 + v // 3), noise, 0.2)
    blue = Image.blend(sky.point(lambda v: 230 - v // 2), noise, 0.15)
    image = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(image)
    radius = min(width, height) // 8
    sun = (width * (2 + seed % 5) // 8, height // 4)
    draw.ellipse((sun[0] - radius, sun[1] - radius, sun[0] + radius, sun[1] + radius), fill=(250, 210, 90))
    for index in range(3):
        base = height * (6 + index) // 10
        peak = (width * (index * 3 + seed) // 9 % width, base - height // (4 + index))
        draw.polygon(
            [(0, height), (0, base), peak, (width, base), (width, height)], fill=(40 + 30 * index, 110 - 20 * index, 50)
        )
    return image


def encode(image: Image.Image, kind: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


@functools.cache
def standard_samples() -> tuple[Sample, ...]:
    """Both routes' happy paths in every accepted format, and two refusals with a reason. Made once per process
    (the samples are immutable; drawing them takes most of a second)."""
    rotated = Image.Exif()
    rotated[ORIENTATION_TAG] = ROTATED_90
    transparent = scene(900, 600, seed=3).convert("RGBA")
    transparent.putalpha(Image.radial_gradient("L").resize(transparent.size).point(lambda v: 255 - v))
    photo = encode(scene(1600, 1200), "JPEG", quality=88)
    return (
        Sample("landscape.jpg", photo, "image/jpeg", ROUTE_LAMBDA),
        Sample("portrait-exif.jpg", encode(scene(1200, 900, seed=2), "JPEG", quality=88, exif=rotated), "image/jpeg",
               ROUTE_LAMBDA),
        Sample("transparent.png", encode(transparent, "PNG"), "image/png", ROUTE_LAMBDA),
        Sample("meadow.webp", encode(scene(1024, 768, seed=4), "WEBP", quality=85), "image/webp", ROUTE_LAMBDA),
        Sample("notes.jpg", b"a text file uploaded with a .jpg name\n" * 20, "image/jpeg", "refused"),
        Sample("truncated.jpg", photo[: len(photo) // 2], "image/jpeg", "refused"),
    )  # fmt: skip


def panorama(imaging: ModuleType, environment: Mapping[str, str]) -> Sample | None:
    """The smallest 3:1 PNG the rendering function routes to Fargate, or None if that is too big to make here."""
    settings = imaging.ImagingSettings.from_environment(environment)
    memory_mb = int(environment.get(RENDER_MEMORY_ENV, "1024"))

    def route(width: int, height: int, size: int) -> str:
        header = imaging.ImageHeader("PNG", width, height, "RGB", 1, size, 1, False)
        return str(imaging.choose_route(header, settings.renditions, memory_mb).route)

    height = _smallest(lambda h: route(3 * h, h, 0) == imaging.FARGATE)  # a real file only adds to the need
    if height is None:
        return None
    for _ in range(5):  # check with the real file size
        data = _panorama_png(height)
        if route(3 * height, height, len(data)) == imaging.FARGATE:
            return Sample("panorama.png", data, "image/png", ROUTE_FARGATE)
        height = int(height * 1.1)
    return None


@functools.cache
def _panorama_png(height: int) -> bytes:
    """The 3:1 panorama `height` px high, made once per process: a second of drawing and encoding, which each test
    module of the end-to-end suite would pay again for the same bytes."""
    return encode(scene(3 * height, height, seed=5), "PNG", compress_level=1)


def _smallest(goes_to_fargate: Callable[[int], bool]) -> int | None:
    """The smallest height (in steps of 50 px) whose panorama goes to Fargate, within MAX_PANORAMA_PIXELS."""
    height = 100
    while 3 * height * height <= MAX_PANORAMA_PIXELS:
        if goes_to_fargate(height):
            return height
        height += 50
    return None
