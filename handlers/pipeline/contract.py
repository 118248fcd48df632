"""The data path's contract: every name the Pulumi program, the Lambda handlers and the Fargate worker must agree on.

The standard library only, and no import of its own: the program imports it as `handlers.pipeline.contract`, the
Lambdas and the worker as `pipeline.contract` (both ship `pipeline/`: app/code.py), and `imaging` reads its settings
and routes from it too. A value written out anywhere else in app/, handlers/ or __main__.py fails
tests/program/test_contract.py, which also checks that the refusals are the handlers' exception classes and that
every variable the handlers read is one the program sets.
"""

# --- key prefixes ---------------------------------------------------------------------------------------------

UPLOAD_PREFIX = "uploads/"
"""Where uploads go: the trigger's filter, the processors' read grants and the uploads' expiration depend on it."""
RENDITIONS_PREFIX = "renditions/"
"""Where renditions go in the results bucket: `imaging.rendition_key` and the processors' write grants use it."""

# --- routes ---------------------------------------------------------------------------------------------------

ROUTE_LAMBDA = "lambda"
"""The route of an image the process Lambda renders itself: the upload workflow's ChooseRoute compares with it."""
ROUTE_FARGATE = "fargate"
"""The route of an image too big for the Lambda: any route but ROUTE_LAMBDA is handed to the heavy-path workflow."""

# --- error names ----------------------------------------------------------------------------------------------

REFUSALS = ("UnsupportedFormat", "ImageTooLarge", "TooManyPixels", "CorruptImage", "ObjectNotFound")
"""Class names of the refusals (`imaging.ImageError`'s subclasses, `pipeline.errors.ObjectNotFound`): the handlers
record them FAILED with a reason before raising them, and the upload workflow's Catch ends them in Rejected."""
STALE_EVENT = "StaleEvent"
"""Class name of `pipeline.errors.StaleEvent` (a newer upload owns the record): the workflow ends it in Superseded."""

# --- the worker's exit codes ----------------------------------------------------------------------------------

EXIT_OK = 0
"""Rendered: renditions stored, record COMPLETE; the heavy-path workflow goes on to the catalog."""
EXIT_FAILED = 1
"""Anything else: the record is left as it was, so the heavy-path workflow's own failure write decides."""
EXIT_REFUSED = 2
"""Refused (unsupported, too large, corrupt) or the object is gone: the record is already FAILED with the reason,
and the heavy-path workflow ends in Rejected."""
EXIT_STALE = 3
"""A newer upload of the same key owns the record: this run's renditions were deleted, the record left alone, and
the heavy-path workflow ends in Superseded."""

# --- the worker's input: container environment overrides set by the heavy-path workflow (app/heavy.py) ---------
# References only, never data: ECS refuses container overrides over 8192 characters, and an upload's metadata
# (EXIF text) is the uploader's to make as long as they like.

UPLOAD_BUCKET_ENV = "UPLOAD_BUCKET"
"""The uploads bucket's name (the event's `detail.bucket.name`): the worker reads the upload from it."""
UPLOAD_OBJECT_ENV = "UPLOAD_OBJECT"
"""The event's `detail.object` as JSON: key (as delivered), size, etag, sequencer and, in a versioned bucket,
version-id; the worker parses it as the process Lambda parses the event. At most about 3.2 KB, since S3 keys are at most
1024 bytes (3072 characters URL-encoded)."""
EVENT_ID_ENV = "EVENT_ID"
"""The EventBridge event's id: the correlation id of the worker's log lines, as of the process Lambda's."""

# --- the handlers' settings: set by app/environment.py (and __main__.py for the worker) --------------------------

TABLE_NAME_ENV = "TABLE_NAME"
"""The images table, where `pipeline.records` claims, completes and fails records (required)."""
RESULTS_BUCKET_ENV = "RESULTS_BUCKET"
"""The results bucket, where the renditions are written and superseded ones deleted (required)."""
IDEMPOTENCY_TABLE_ENV = "IDEMPOTENCY_TABLE"
"""Powertools' idempotency store, which answers a repeated delivery with the first run's result (required)."""
UPLOAD_PREFIX_ENV = "UPLOAD_PREFIX"
"""UPLOAD_PREFIX, which the renditions' keys leave out of the upload's key."""
RENDER_MEMORY_ENV = "RENDER_MEMORY_MB"
"""The Lambda route's memory, which routing compares an image's decode with: the process Lambda's own (which Lambda
also sets as AWS_LAMBDA_FUNCTION_MEMORY_SIZE; this copy is the one a reader of the deployed environment, such as the
demo's samples, finds)."""
WORKER_MEMORY_ENV = "WORKER_MEMORY_MB"
"""The Fargate task's memory, which the worker stands in for the Lambda's memory size."""
RENDITION_SIZES_ENV = "RENDITION_SIZES"
"""`imaging.ImagingSettings`: the renditions' longest sides, comma-separated."""
RENDITION_FORMAT_ENV = "RENDITION_FORMAT"
"""`imaging.ImagingSettings`: the renditions' format (AUTO, JPEG, PNG or WEBP)."""
RENDITION_QUALITY_ENV = "RENDITION_QUALITY"
"""`imaging.ImagingSettings`: the renditions' encoder quality, 1-100."""
MAX_IMAGE_BYTES_ENV = "MAX_IMAGE_BYTES"
"""`imaging.ImagingSettings`: the largest upload accepted, in bytes (ImageTooLarge above it)."""
MAX_IMAGE_PIXELS_ENV = "MAX_IMAGE_PIXELS"
"""`imaging.ImagingSettings`: the most pixels an image may declare (TooManyPixels above it)."""
KEEP_PERSONAL_EXIF_ENV = "KEEP_PERSONAL_EXIF"
"""`imaging.ImagingSettings`: `true` keeps GPS, owner and serial numbers in the record's metadata."""

# --- the image record (images table), written by the handlers and by the workflows' own DynamoDB tasks ----------

OBJECT_KEY = "objectKey"
"""The table's partition key: the upload's key as the event delivered it (the workflows name it as well)."""
STATUS = "status"
"""PROCESSING, COMPLETE or FAILED; a DynamoDB reserved word, so expressions name it through STATUS_NAME."""
ERROR = "error"
"""Why the upload FAILED: a refusal's class name, or the error the workflow caught."""
CAUSE = "cause"
"""The human-readable reason that goes with ERROR."""
ROUTE = "route"
"""ROUTE_LAMBDA or ROUTE_FARGATE, recorded by the process Lambda's validation; the local report shows it."""
RENDITIONS = "renditions"
"""The stored renditions (key, size, dimensions), recorded with COMPLETE; a newer upload deletes the superseded."""
CATALOG = "catalog"
"""FAILED when the catalog insert failed after a COMPLETE render (app/catalog.py); a later completion clears it."""
CATALOG_ERROR = "catalogError"
"""The catalog insert's error cause, written with CATALOG."""
UPDATED_AT = "updatedAt"
"""When the record was last written, by a handler or a workflow."""
RAW_SEQUENCER = "rawSequencer"
"""The owning upload's event sequencer as S3 delivered it: what OWNED compares."""

PROCESSING = "PROCESSING"
"""STATUS from the process Lambda's claim until a render or a failure write."""
COMPLETE = "COMPLETE"
"""STATUS of a rendered upload; final: no failure write (NOT_COMPLETE) may overwrite it."""
FAILED = "FAILED"
"""STATUS of a refused or failed upload, and the CATALOG mark of a failed catalog insert."""

# --- the ownership condition: how a write proves it belongs to this upload --------------------------------------

STATUS_NAME = f"#{STATUS}"
"""The expression attribute name of STATUS in NOT_COMPLETE: a writer binds it to STATUS."""
SEQUENCER_VALUE = ":raw"
"""The expression attribute value in OWNED: a writer binds it to its event's `detail.object.sequencer`."""
COMPLETE_VALUE = ":complete"
"""The expression attribute value in NOT_COMPLETE: a writer binds it to COMPLETE."""
UNCLAIMED = f"attribute_not_exists({OBJECT_KEY})"
"""No upload has claimed the record yet: the process Lambda's claim and the workflows' failure writes allow it."""
OWNED = f"{RAW_SEQUENCER} = {SEQUENCER_VALUE}"
"""This upload's claim still stands (no newer upload took the record over): every write after the claim needs it."""
NOT_COMPLETE = f"{STATUS_NAME} <> {COMPLETE_VALUE}"
"""No run of this upload completed it: a failure write needs it too, since EventBridge delivers at least once."""
OWNED_NOT_COMPLETE = f"{OWNED} AND {NOT_COMPLETE}"
"""The condition of a failure write on a claimed record (`records.fail`; the workflows' add UNCLAIMED)."""

# --- business metrics: CloudWatch embedded metric format (EMF) lines on stdout, written by Powertools Metrics ----
# No API call: CloudWatch extracts the metrics from the log events of the Lambda and of the worker (awslogs). Each
# metric's dimension set is part of its identity: an alarm or a dashboard on one must name exactly the same set.

METRICS_NAMESPACE = "ImagePipeline"
"""The namespace of every metric below: the handlers' and the worker's `Metrics`, and the alarms watching them."""
METRIC_SERVICE_DIMENSION = "service"
"""The dimension Powertools adds to every metric it writes, valued `POWERTOOLS_SERVICE_NAME` (app/environment.py)."""
ROUTE_DIMENSION = "route"
"""The dimension of IMAGES_ROUTED, IMAGES_COMPLETED, RENDER_TIME and MEGAPIXELS: ROUTE_LAMBDA or ROUTE_FARGATE."""
REASON_DIMENSION = "reason"
"""The dimension of IMAGES_REFUSED: the refusal's class name (one of REFUSALS), the value the record's ERROR holds."""

IMAGES_ROUTED = "ImagesRouted"
"""Count by ROUTE_DIMENSION and service: uploads the process Lambda accepted and recorded a route for."""
IMAGES_COMPLETED = "ImagesCompleted"
"""Count by ROUTE_DIMENSION and service: uploads the process Lambda or the worker rendered and recorded COMPLETE."""
IMAGES_REFUSED = "ImagesRefused"
"""Count by REASON_DIMENSION and service: refusals a handler recorded FAILED (the process Lambda or the worker)."""
IMAGES_FAILED = "ImagesFailed"
"""Count with the service dimension alone: every FAILED record a handler itself writes (its refusals, a missing
object). The "images FAILED per hour" alarm watches it, so its dimension set must stay exactly
[METRIC_SERVICE_DIMENSION]: a metric with one more dimension is another metric, which the alarm would not see."""
RENDER_TIME = "RenderTime"
"""Milliseconds by ROUTE_DIMENSION and service: decoding a completed upload and encoding its renditions (no S3
transfer), so that with MEGAPIXELS it gives each route's cost per megapixel."""
MEGAPIXELS = "Megapixels"
"""A quantity (unit None) by ROUTE_DIMENSION and service: the size of a completed upload, in millions of pixels."""
PUBLISHED_METRICS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    *((name, ((ROUTE_DIMENSION, route),)) for name in (IMAGES_ROUTED, IMAGES_COMPLETED, RENDER_TIME, MEGAPIXELS)
      for route in (ROUTE_LAMBDA, ROUTE_FARGATE)),
    *((IMAGES_REFUSED, ((REASON_DIMENSION, reason),)) for reason in REFUSALS),
    (IMAGES_FAILED, ()),
)  # fmt: skip
"""Every metric the handlers can publish: its name and dimensions besides the service. Each is a custom metric that
CloudWatch bills for every hour it receives data (the review prices them); tests/e2e/test_metrics.py checks that a
run publishes no other."""
