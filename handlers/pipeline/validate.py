"""The validation step: describe an upload from the run's local copy, decide where it is rendered, record the route.

The process Lambda (`pipeline.process`) runs it on the copy it downloaded, after claiming the record; its output is
what the workflow keeps at ``$.validation``: the object, its metadata and the route (``lambda`` or ``fargate``).
The route is chosen against the memory of the function that renders on the Lambda route, which is the process
Lambda itself.

A refused image (unsupported, too many pixels, corrupt) raises its `imaging.ImageError` here; the caller records
it FAILED (`pipeline.steps.refusals_recorded`).

Metrics (EMF on stdout, `pipeline.contract`): ImagesRouted, filed under the route, once the route is recorded. The
route dimension is the run's, so it files the completion that the process Lambda counts next as well.
"""

from pathlib import Path
from typing import Any, NamedTuple, TypedDict

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from imaging import ImageHeader, choose_route, describe, inspect_image

from .context import Dependencies
from .contract import IMAGES_ROUTED, ROUTE_DIMENSION
from .metrics import metrics
from .objects import StoredObject, UploadEvent
from .records import ImageRecords

logger = Logger()


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


class Validated(NamedTuple):
    """The step's result: what the workflow is told, and what rendering the same copy needs (its header, so that the
    file is not inspected twice)."""

    output: Validation
    header: ImageHeader
    route: str


def validate_upload(upload: UploadEvent, stored: StoredObject, local: Path, dependencies: Dependencies) -> Validated:
    """Inspect and describe `local` (the copy of `stored`), choose the route and record it on the claimed record."""
    settings = dependencies.imaging
    header = inspect_image(local, settings.limits)
    metadata = describe(local, header, keep_personal_exif=settings.keep_personal_exif).to_record()
    decision = choose_route(header, settings.renditions, dependencies.memory_mb)
    records = ImageRecords(dependencies.dynamodb, dependencies.table_name)
    records.route(upload, metadata, decision.route, decision.reason)
    metrics.add_dimension(name=ROUTE_DIMENSION, value=decision.route)
    metrics.add_metric(name=IMAGES_ROUTED, unit=MetricUnit.Count, value=1)
    logger.info("Upload validated", extra={"route": decision.route, "reason": decision.reason})
    output = Validation(
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
        header=header._asdict(),
        metadata=metadata,
        route=decision.route,
        routeReason=decision.reason,
    )
    return Validated(output=output, header=header, route=decision.route)
