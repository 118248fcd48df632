"""Peer "pyvips": libvips' own single-decode cascade, the fastest way libvips offers to make several renditions.

`thumbnail_buffer` decodes the JPEG once, shrinking on load (libjpeg's DCT scaling, as our core's `draft`), applies
the EXIF orientation and resizes to the largest rendition, which is rendered into memory once (libvips is lazy:
without that, every smaller rendition would run the decode again); `thumbnail_image` makes each smaller rendition
from it. Encoded as our core encodes: JPEG at the given quality, libvips' defaults otherwise (4:2:0 chroma, no
progressive or optimised Huffman tables), the ICC profile kept and all other metadata dropped.

On one thread (`VIPS_CONCURRENCY=1`, set by bench/run.py, as for sharp) and without libvips' operation cache: a
Lambda sees each image once, and a new input buffer at a reused address could otherwise be answered from the cache.
"""

import pyvips
from harness import Output, main

pyvips.cache_set_max(0)


def render(data: bytes, sizes: tuple[int, ...], quality: int) -> list[Output]:
    """The renditions of `data` as JPEGs at `quality`, one per size in `sizes` (never enlarged, like the core's)."""
    largest = max(sizes)
    first = pyvips.Image.thumbnail_buffer(data, largest, height=largest, size="down").copy_memory()
    outputs = []
    for size in sizes:
        image = first if size == largest else first.thumbnail_image(size, height=size, size="down")
        encoded = image.jpegsave_buffer(Q=quality, keep="icc")
        outputs.append(Output(size, image.width, image.height, len(encoded)))
    return outputs


if __name__ == "__main__":
    version = ".".join(str(pyvips.version(part)) for part in range(3))
    main("pyvips", render, {"pyvips": pyvips.__version__, "libvips": version})
