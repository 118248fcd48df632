"""Deterministic photo-like JPEGs for the benchmark, generated once and cached under `.build/bench/`.

A flat or purely synthetic image decodes and compresses unrealistically fast (libjpeg skips most of the entropy work
on empty blocks), so each image stacks what a photo has: smooth low-frequency colour fields, mid-frequency texture,
hard-edged shapes and per-pixel sensor grain. The pixels come from a seeded `random.Random`, so every machine gets
the same image for the same Pillow. The stored pixels are landscape with EXIF orientation 6 (rotate 90° clockwise
to display), so every peer has to rotate, as it would for a photo taken in portrait.
"""

import os
import random
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageOps

SIZES: dict[str, tuple[int, int]] = {"2MP": (1732, 1155), "12MP": (4243, 2828), "24MP": (6000, 4000)}
"""Stored (landscape) pixel size per label: a phone-sized, a 12 MP and a 24 MP camera photo, all 3:2."""
QUALITY = 90
"""A camera's usual "fine" JPEG quality."""
ORIENTATION = 6
"""EXIF orientation 6: displayed rotated 90° clockwise, so the displayed image is portrait."""
GRAIN = 24
"""Peak-to-peak amplitude of the per-pixel luma grain, in 8-bit levels; sets the bits per pixel to a photo's ~3-5."""
_VERSION = 1
"""Part of the file names: bump it when the generator changes, so that cached images are regenerated."""


def generate(directory: Path) -> dict[str, Path]:
    """The path of each benchmark image by label, generating only those not cached in `directory` yet."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for seed, (label, size) in enumerate(SIZES.items()):
        path = directory / f"photo-{size[0]}x{size[1]}-q{QUALITY}-o{ORIENTATION}-v{_VERSION}.jpg"
        if not path.is_file():
            _write_atomically(path, _photo(size, random.Random(seed)))
        paths[label] = path
    return paths


def _photo(size: tuple[int, int], rng: random.Random) -> Image.Image:
    image = _smooth_noise(size, (6, 4), rng)
    image = Image.blend(image, _smooth_noise(size, (size[0] // 24, size[1] // 24), rng), 0.35)
    image = Image.blend(image, _sky_gradient(size), 0.3)
    _draw_shapes(image, rng)
    return _add_grain(image, rng)


def _smooth_noise(size: tuple[int, int], cells: tuple[int, int], rng: random.Random) -> Image.Image:
    """Random colours on a coarse grid, upscaled bicubically: soft gradients at the scale of the grid."""
    coarse = Image.frombytes("RGB", cells, rng.randbytes(cells[0] * cells[1] * 3))
    return coarse.resize(size, Image.Resampling.BICUBIC)


def _sky_gradient(size: tuple[int, int]) -> Image.Image:
    """A vertical light-to-dark gradient, as from sky to ground."""
    luminance = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return ImageOps.colorize(luminance, black=(200, 220, 250), white=(60, 50, 40))


def _draw_shapes(image: Image.Image, rng: random.Random) -> None:
    """Hard edges at many scales: the high-frequency content that gradients and grain alone lack."""
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(max(2, width // 200), max(3, width // 8))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        box = (x - radius, y - radius, x + radius, y + radius)
        match rng.randrange(3):
            case 0:
                draw.ellipse(box, fill=colour)
            case 1:
                draw.rectangle(box, outline=colour, width=max(1, radius // 6))
            case _:
                draw.line((x, y, rng.randrange(width), rng.randrange(height)), fill=colour, width=max(1, radius // 10))


def _add_grain(image: Image.Image, rng: random.Random) -> Image.Image:
    """Per-pixel luma noise of `GRAIN` levels peak to peak, centred on zero."""
    noise = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    noise = noise.point(lambda value: value * GRAIN // 256)
    return ImageChops.add(image, Image.merge("RGB", (noise, noise, noise)), offset=-(GRAIN // 2))


def _write_atomically(path: Path, image: Image.Image) -> None:
    """Write to a temporary name and rename, so that an interrupted run never leaves a truncated cached image."""
    exif = Image.Exif()
    exif[0x0112] = ORIENTATION  # Orientation
    staging = path.with_suffix(".tmp")
    image.save(staging, format="JPEG", quality=QUALITY, exif=exif.tobytes())
    os.replace(staging, path)
