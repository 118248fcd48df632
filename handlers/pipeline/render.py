"""The rendering step: make the renditions from the run's local copy, store them under deterministic keys, complete
the record.

The process Lambda (`pipeline.process`) runs `render_upload` on the copy it validated, when the route is
``lambda``; the Fargate worker runs it on the copy it downloaded itself. Neither downloads twice.

Rendition keys derive from the source key and its version, so reprocessing an upload overwrites its renditions,
and a newer upload writes its own and, once its record is COMPLETE, deletes the ones it superseded.

A refused image (one that only decoding finds corrupt) raises its `imaging.ImageError`; the caller records it
FAILED (`pipeline.steps.refusals_recorded`).

Metrics (EMF on stdout, `pipeline.contract`): once the record is COMPLETE, ImagesCompleted, RenderTime and
Megapixels, filed under the route of the run (the process Lambda's validation set it; the worker's `completed_on`).
The Lambda's `metrics` are flushed when the invocation ends, the worker flushes them itself.
"""

import base64
import re
import time
from pathlib import Path
from typing import TypedDict

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from imaging import ImageHeader, Rendition, render_renditions, rendition_key

from .context import Dependencies
from .contract import COMPLETE, IMAGES_COMPLETED, MEGAPIXELS, RENDER_TIME, ROUTE_DIMENSION
from .errors import StaleEvent
from .metrics import metrics
from .objects import UploadEvent
from .records import ImageRecords
from .tracing import tracer

logger = Logger()

CACHE_CONTROL = "public, max-age=31536000, immutable"
"""A rendition key never changes content (a new version gets a new key), so it may be cached for a year."""
ENCODED_METADATA = r"=\?UTF-8\?B\?([A-Za-z0-9+/]*={0,2})\?="
"""RFC 2047's "B" encoding, the form in which S3 itself returns non-ASCII metadata values. A pattern, compiled (and
cached by `re`) on the first `decode_metadata`: readers of renditions call it, the handlers never do."""


class RenditionRecord(TypedDict):
    size: int
    width: int
    height: int
    key: str
    contentType: str
    bytes: int


class RenderResult(TypedDict):
    objectKey: str
    status: str
    renditions: list[RenditionRecord]


def completed_on(route: str) -> None:
    """File the completion `render_upload` counted under the route that rendered it: the worker's, whose run has
    not been through validation (which files the process Lambda's)."""
    metrics.add_dimension(name=ROUTE_DIMENSION, value=route)


def render_upload(upload: UploadEvent, local: Path, header: ImageHeader, dependencies: Dependencies) -> RenderResult:
    """Render `local` (the upload's copy, whose inspected `header` is given), store the renditions and complete the
    record; when a newer upload took the record over meanwhile, its renditions are deleted and StaleEvent goes on."""
    logger.append_keys(objectKey=upload.key, sequencer=upload.sequencer)
    renditions, render_ms = _render_and_store(upload, local, header, dependencies)
    try:
        superseded = ImageRecords(dependencies.dynamodb, dependencies.table_name).complete(upload, renditions)
    except StaleEvent:
        _delete(dependencies, [r["key"] for r in renditions])  # a newer upload took over while this one rendered
        raise
    _delete(dependencies, sorted({r["key"] for r in superseded} - {r["key"] for r in renditions}))
    metrics.add_metric(name=IMAGES_COMPLETED, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=RENDER_TIME, unit=MetricUnit.Milliseconds, value=render_ms)
    metrics.add_metric(name=MEGAPIXELS, unit=MetricUnit.NoUnit, value=header.pixels / 1_000_000)
    logger.info("Renditions stored", extra={"renditions": [r["key"] for r in renditions]})
    return RenderResult(objectKey=upload.key, status=COMPLETE, renditions=renditions)


def _render_and_store(
    upload: UploadEvent, local: Path, header: ImageHeader, dependencies: Dependencies
) -> tuple[list[RenditionRecord], float]:
    """The stored renditions, and the milliseconds spent decoding and encoding (no S3 transfer)."""
    started = time.perf_counter()
    with tracer.in_subsegment("render_renditions"):
        renditions = render_renditions(local, header, dependencies.imaging.renditions)
    render_ms = (time.perf_counter() - started) * 1000
    source_key = upload.key.removeprefix(dependencies.upload_prefix)
    return [_store(dependencies, upload, source_key, rendition) for rendition in renditions], render_ms


def _store(dependencies: Dependencies, upload: UploadEvent, source_key: str, rendition: Rendition) -> RenditionRecord:
    key = rendition_key(source_key, upload.version_tag, rendition.size, rendition.extension)
    dependencies.s3.put_object(
        Bucket=dependencies.results_bucket,
        Key=key,
        Body=rendition.data,
        ContentType=rendition.content_type,
        CacheControl=CACHE_CONTROL,
        Metadata={"source-key": encode_metadata(upload.key), "source-version": encode_metadata(upload.version_tag)},
    )
    return {
        "size": rendition.size,
        "width": rendition.width,
        "height": rendition.height,
        "key": key,
        "contentType": rendition.content_type,
        "bytes": len(rendition.data),
    }


def encode_metadata(text: str) -> str:
    """S3 user metadata travels as HTTP headers (`x-amz-meta-*`), which carry printable US-ASCII only (botocore
    refuses anything else before sending, and HTTP drops spaces at either end). Such text stays as it is; any other
    becomes RFC 2047 "B" (base64 of UTF-8), at most 4/3 of a key's 1,024 bytes, so the values stay within S3's 2 KB
    of metadata (percent-encoding could triple them). Whoever reads a value back decodes it with `decode_metadata`."""
    if all(0x21 <= ord(char) <= 0x7E for char in text) and not text.startswith("=?"):
        return text
    return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="


def decode_metadata(value: str) -> str:
    """The text `encode_metadata` stored, from a rendition's `Metadata`."""
    encoded = re.fullmatch(ENCODED_METADATA, value)
    return base64.b64decode(encoded.group(1)).decode() if encoded else value


def _delete(dependencies: Dependencies, keys: list[str]) -> None:
    if keys:
        dependencies.s3.delete_objects(
            Bucket=dependencies.results_bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
        )
