"""Peer "naive Pillow": what most Pillow code does, the baseline that shows what the image core's design buys.

It decodes the whole image at full size, applies the EXIF orientation to all of it, then for each size copies the
full image and shrinks the copy with `thumbnail` (Pillow's defaults: bicubic, reducing_gap=2). No `draft`: once an
image is loaded, `thumbnail` can no longer decode it at reduced scale.
"""

import io

import PIL
from harness import Output, main
from PIL import Image, ImageOps, features


def render(data: bytes, sizes: tuple[int, ...], quality: int) -> list[Output]:
    """The renditions of `data` as JPEGs at `quality`, one per size in `sizes`."""
    with Image.open(io.BytesIO(data)) as source:
        full = ImageOps.exif_transpose(source)  # loads every pixel, then rotates them all
    if full.mode != "RGB":
        full = full.convert("RGB")
    outputs = []
    for size in sizes:
        thumbnail = full.copy()
        thumbnail.thumbnail((size, size))
        buffer = io.BytesIO()
        thumbnail.save(buffer, format="JPEG", quality=quality)
        outputs.append(Output(size, thumbnail.width, thumbnail.height, buffer.tell()))
    return outputs


if __name__ == "__main__":
    main("naive", render, {"Pillow": PIL.__version__, "libjpeg-turbo": str(features.version("libjpeg_turbo"))})
