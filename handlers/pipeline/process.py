"""The upload workflow's Lambda task: claim the record, download the upload once, validate it and, when it fits this
function, render it from the same local copy, all in one invocation.

Handler string: ``pipeline.process.handler``. Input: the EventBridge "Object Created" event. Output (kept by the
workflow at ``$.validation``): the validation (`pipeline.validate.Validation`: the object, its metadata and the
route) and, when the route is ``lambda``, the render's result at ``rendered`` (status and renditions). On the
``fargate`` route it returns after validation, and the workflow hands the upload to the heavy path, whose worker
renders it.

One idempotency claim per image: the same event delivered twice is answered from Powertools' idempotency store,
keyed on bucket, key, version and ETag, without downloading or rendering again. A failed invocation releases the
claim, so a retry or a redelivery runs every step again (the image record lets the same upload claim it again).

A refused image (unsupported, too large, too many pixels, corrupt: whether validation or decoding finds out) or a
missing object is recorded FAILED with a human-readable reason and re-raised: its class name is the error the
workflow routes on. A newer upload owning the record raises StaleEvent, which the workflow ends in Superseded.

Metrics (EMF on stdout, `pipeline.contract`): ImagesRouted by route once the route is recorded; on the Lambda route
ImagesCompleted, RenderTime and Megapixels by route once the record is COMPLETE; for a refusal recorded FAILED,
ImagesRefused by reason and ImagesFailed. A delivery answered from the idempotency store counts nothing, nor does
one superseded before its route was recorded.
"""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from .context import Dependencies, run_once
from .contract import ROUTE_LAMBDA
from .metrics import metrics
from .objects import UploadEvent, open_upload
from .records import ImageRecords
from .render import RenderResult, render_upload
from .steps import local_copy, refusals_recorded
from .tracing import tracer
from .validate import Validation, validate_upload

if TYPE_CHECKING:  # annotations only (see pipeline.context)
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


class Processed(Validation, total=False):
    """The validation, with the render's outcome when this invocation rendered the upload (route `lambda`)."""

    rendered: RenderResult


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics  # no cold-start metric: it would be one more custom metric, billed monthly
def handler(event: dict[str, Any], context: "LambdaContext") -> Processed:
    return run_once(process, event, context)


def process(event: dict[str, Any], dependencies: Dependencies) -> Processed:
    """The invocation's work, once per upload: claim the record, then validate one local copy of the upload and,
    on the Lambda route, render that same copy."""
    upload = UploadEvent.parse(event)
    logger.append_keys(objectKey=upload.key, sequencer=upload.sequencer)
    tracer.put_annotation(key="objectKey", value=upload.key)
    ImageRecords(dependencies.dynamodb, dependencies.table_name).claim(upload)
    with (
        refusals_recorded(upload, dependencies),
        open_upload(dependencies.s3, upload) as opened,
        local_copy(opened, dependencies) as local,
    ):
        validated = validate_upload(upload, opened.stored, local, dependencies)
        if validated.route != ROUTE_LAMBDA:
            return Processed(**validated.output)
        rendered = render_upload(upload, local, validated.header, dependencies)
    return Processed(**validated.output, rendered=rendered)
