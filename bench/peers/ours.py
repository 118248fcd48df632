"""Peer "ours": the image core's public contract, exactly as the Lambda handler calls it.

`inspect_image` reads the header; `render_renditions` decodes the JPEG once at reduced scale (libjpeg DCT scaling
through `Image.draft`), applies the EXIF orientation and cascades the smaller renditions from the largest.
"""

import PIL
from harness import Output, main
from imaging import ImagingSettings, RenditionSpec, inspect_image, render_renditions
from PIL import features

SETTINGS = ImagingSettings()


def render(data: bytes, sizes: tuple[int, ...], quality: int) -> list[Output]:
    """The renditions of `data` as JPEGs at `quality`; the core returns them largest first, so sort by `sizes`."""
    header = inspect_image(data, SETTINGS.limits)
    spec = RenditionSpec(sizes=sizes, format="JPEG", quality=quality)
    by_size = {rendition.size: rendition for rendition in render_renditions(data, header, spec)}
    return [Output(size, by_size[size].width, by_size[size].height, len(by_size[size].data)) for size in sizes]


if __name__ == "__main__":
    main("ours", render, {"Pillow": PIL.__version__, "libjpeg-turbo": str(features.version("libjpeg_turbo"))})
