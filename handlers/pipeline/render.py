"""The workflow's rendering task: make the renditions, store them under deterministic keys, complete the record.

Handler string: ``pipeline.render.handler``. Input: the workflow state, i.e. the upload event with the validation
result at ``validation``. The Fargate worker runs the same `render` with the same inputs.

Rendition keys derive from the source key and its version, so reprocessing an upload overwrites its renditions,
and a newer upload writes its own and, once its record is COMPLETE, deletes the ones it superseded.

Metrics (EMF on stdout, `pipeline.contract`): once the record is COMPLETE, ImagesCompleted, RenderTime and
Megapixels, which the caller files under its route (`completed_on`: the Lambda here, the worker its own); for a
refusal recorded FAILED, ImagesRefused by reason and ImagesFailed. The Lambda's `metrics` are flushed when the
invocation ends, the worker flushes them itself.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any, TypedDict

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from imaging import ImageError, Rendition, inspect_image, render_renditions, rendition_key

from .context import Dependencies, run_once
from .contract import (
    COMPLETE,
    IMAGES_COMPLETED,
    MEGAPIXELS,
    RENDER_TIME,
    ROUTE_DIMENSION,
    ROUTE_LAMBDA,
)
from .errors import ObjectNotFound, StaleEvent
from .metrics import count_refusal, metrics
from .objects import StoredObject, UploadEvent, download, resolve
from .records import ImageRecords

logger = Logger()
tracer = Tracer()

CACHE_CONTROL = "public, max-age=31536000, immutable"
"""A rendition key never changes content (a new version gets a new key), so it may be cached for a year."""
ENCODED_METADATA = re.compile(r"=\?UTF-8\?B\?([A-Za-z0-9+/]*={0,2})\?=")
"""RFC 2047's "B" encoding, the form in which S3 itself returns non-ASCII metadata values."""


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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics  # no cold-start metric: each function's would be one more custom metric, billed monthly
def handler(event: dict[str, Any], context: LambdaContext) -> RenderResult:
    return run_once(render, event, context)


def render(event: dict[str, Any], dependencies: Dependencies) -> RenderResult:
    """The Lambda's step: the workflow state carries the validated object at `validation.object`."""
    result = render_upload(UploadEvent.parse(event), _stored(event["validation"]["object"]), dependencies)
    completed_on(ROUTE_LAMBDA)
    return result


def completed_on(route: str) -> None:
    """File the completion `render_upload` counted under the route that rendered it (a dimension applies to every
    metric of the document, so it is added once the refusal path, whose ImagesFailed has none, is ruled out)."""
    metrics.add_dimension(name=ROUTE_DIMENSION, value=route)


def locate(upload: UploadEvent, dependencies: Dependencies) -> StoredObject:
    """Where the upload is now, for a caller given its reference only (the Fargate worker); an object that is gone
    is recorded FAILED, as a refused image is."""
    try:
        return resolve(dependencies.s3, upload)
    except ObjectNotFound as error:
        _record_refusal(upload, error, dependencies)
        raise


def render_upload(upload: UploadEvent, stored: StoredObject, dependencies: Dependencies) -> RenderResult:
    """Render, store and complete; a refused image is recorded FAILED with its reason before the error goes on."""
    logger.append_keys(objectKey=upload.key, sequencer=upload.sequencer)
    records = ImageRecords(dependencies.dynamodb, dependencies.table_name)
    try:
        renditions, pixels, render_ms = _render_and_store(upload, stored, dependencies)
    except (ImageError, ObjectNotFound) as error:
        _record_refusal(upload, error, dependencies)
        raise
    try:
        superseded = records.complete(upload, renditions)
    except StaleEvent:
        _delete(dependencies, [r["key"] for r in renditions])  # a newer upload took over while this one rendered
        raise
    _delete(dependencies, sorted({r["key"] for r in superseded} - {r["key"] for r in renditions}))
    metrics.add_metric(name=IMAGES_COMPLETED, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=RENDER_TIME, unit=MetricUnit.Milliseconds, value=render_ms)
    metrics.add_metric(name=MEGAPIXELS, unit=MetricUnit.NoUnit, value=pixels / 1_000_000)
    logger.info("Renditions stored", extra={"renditions": [r["key"] for r in renditions]})
    return RenderResult(objectKey=upload.key, status=COMPLETE, renditions=renditions)


def _record_refusal(upload: UploadEvent, error: ImageError | ObjectNotFound, dependencies: Dependencies) -> None:
    reason = error.reason if isinstance(error, ImageError) else str(error)
    if ImageRecords(dependencies.dynamodb, dependencies.table_name).fail(upload, type(error).__name__, reason):
        count_refusal(type(error).__name__)


def _render_and_store(
    upload: UploadEvent, stored: StoredObject, dependencies: Dependencies
) -> tuple[list[RenditionRecord], int, float]:
    """The stored renditions, the upload's pixels, and the milliseconds spent decoding and encoding."""
    settings = dependencies.imaging
    local = download(dependencies.s3, stored, settings.limits.max_bytes)
    try:
        header = inspect_image(local, settings.limits)
        started = time.perf_counter()
        with tracer.provider.in_subsegment("render_renditions"):
            renditions = render_renditions(local, header, settings.renditions)
        render_ms = (time.perf_counter() - started) * 1000
    finally:
        local.unlink()
    source_key = upload.key.removeprefix(dependencies.upload_prefix)
    return [_store(dependencies, upload, source_key, rendition) for rendition in renditions], header.pixels, render_ms


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
    encoded = ENCODED_METADATA.fullmatch(value)
    return base64.b64decode(encoded.group(1)).decode() if encoded else value


def _stored(summary: dict[str, Any]) -> StoredObject:
    return StoredObject(
        bucket=summary["bucket"],
        key=summary["key"],
        version_id=summary.get("versionId"),
        etag=summary["etag"],
        size_bytes=int(summary["sizeBytes"]),
        content_type=summary["contentType"],
    )


def _delete(dependencies: Dependencies, keys: list[str]) -> None:
    if keys:
        dependencies.s3.delete_objects(
            Bucket=dependencies.results_bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
        )
