"""The workflow's first task: claim the record, validate the upload, describe it and decide where it is rendered.

Handler string: ``pipeline.validate.handler``. Input: the EventBridge "Object Created" event. Output (kept by the
workflow at ``$.validation``): the object, its metadata and the route (``lambda`` or ``fargate``).

A refused image (unsupported, too large, too many pixels, corrupt) or a missing object is recorded FAILED here,
with a human-readable reason, and re-raised: its class name is the error the workflow routes on. The same event
delivered twice is answered from Powertools' idempotency store, keyed on bucket, key, version and ETag.

Metrics (EMF on stdout, `pipeline.contract`): ImagesRouted by route once the route is recorded; for a refusal
recorded FAILED, ImagesRefused by reason and ImagesFailed. A delivery answered from the idempotency store, or
superseded by a newer upload, counts nothing.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, TypedDict

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from imaging import ImageError, choose_route, describe, inspect_image

from .context import Dependencies, run_once
from .contract import IMAGES_ROUTED, ROUTE_DIMENSION
from .errors import ObjectNotFound
from .metrics import count_refusal, metrics
from .objects import UploadEvent, download, resolve
from .records import ImageRecords

logger = Logger()
tracer = Tracer()


class ObjectSummary(TypedDict):
    bucket: str
    key: str
    versionId: str | None
    etag: str
    sizeBytes: int
    contentType: str


class Validation(TypedDict):
    objectKey: str
    object: ObjectSummary
    versionTag: str
    sequencer: str
    eventTime: str
    header: dict[str, Any]
    metadata: dict[str, Any]
    route: str
    routeReason: str


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics  # no cold-start metric: each function's would be one more custom metric, billed monthly
def handler(event: dict[str, Any], context: LambdaContext) -> Validation:
    return run_once(validate, event, context)


def validate(event: dict[str, Any], dependencies: Dependencies) -> Validation:
    upload = UploadEvent.parse(event)
    logger.append_keys(objectKey=upload.key, sequencer=upload.sequencer)
    tracer.put_annotation(key="objectKey", value=upload.key)
    records = ImageRecords(dependencies.dynamodb, dependencies.table_name)
    records.claim(upload)
    try:
        return _inspect_and_route(upload, dependencies, records)
    except (ImageError, ObjectNotFound) as error:
        reason = error.reason if isinstance(error, ImageError) else str(error)
        recorded = records.fail(upload, type(error).__name__, reason)
        logger.warning("Upload refused", extra={"error": type(error).__name__, "reason": reason, "recorded": recorded})
        if recorded:
            count_refusal(type(error).__name__)
        raise


def _inspect_and_route(upload: UploadEvent, dependencies: Dependencies, records: ImageRecords) -> Validation:
    settings = dependencies.imaging
    stored = resolve(dependencies.s3, upload)
    local = download(dependencies.s3, stored, settings.limits.max_bytes)
    try:
        header = inspect_image(local, settings.limits)
        metadata = describe(local, header, keep_personal_exif=settings.keep_personal_exif).to_record()
    finally:
        local.unlink()
    decision = choose_route(header, settings.renditions, dependencies.memory_mb)
    records.route(upload, metadata, decision.route, decision.reason)
    metrics.add_dimension(name=ROUTE_DIMENSION, value=decision.route)
    metrics.add_metric(name=IMAGES_ROUTED, unit=MetricUnit.Count, value=1)
    logger.info("Upload validated", extra={"route": decision.route, "reason": decision.reason})
    return Validation(
        objectKey=upload.key,
        object=ObjectSummary(
            bucket=stored.bucket,
            key=stored.key,
            versionId=stored.version_id,
            etag=stored.etag,
            sizeBytes=stored.size_bytes,
            contentType=stored.content_type,
        ),
        versionTag=upload.version_tag,
        sequencer=upload.sequencer,
        eventTime=upload.event_time,
        header=asdict(header),
        metadata=metadata,
        route=decision.route,
        routeReason=decision.reason,
    )
