"""What the heavy-path workflow and the worker agree on: the container's input variables and its exit codes.

The standard library only, so that the Pulumi program imports it (`handlers.worker.contract`) as the worker does
(`worker.contract`). The workflow passes references, never data: ECS refuses container overrides over 8192
characters, and an upload's metadata (EXIF text) is the uploader's to make as long as they like.
"""

UPLOAD_BUCKET_ENV = "UPLOAD_BUCKET"
"""The uploads bucket's name (the event's `detail.bucket.name`)."""
UPLOAD_OBJECT_ENV = "UPLOAD_OBJECT"
"""The event's `detail.object` as JSON: key (as delivered), size, etag, sequencer and, in a versioned bucket,
version-id. At most about 3.2 KB, since S3 keys are at most 1024 bytes (3072 characters URL-encoded)."""
EVENT_ID_ENV = "EVENT_ID"
"""The EventBridge event's id: the correlation id of the worker's log lines, as of the Lambdas'."""

EXIT_OK = 0
"""Rendered: renditions stored, record COMPLETE."""
EXIT_FAILED = 1
"""Anything else: the record is left as it was, so the workflow's own failure write decides what happens."""
EXIT_REFUSED = 2
"""Refused (unsupported, too large, corrupt) or the object is gone: the record is already FAILED with the reason."""
EXIT_STALE = 3
"""A newer upload of the same key owns the record: this run's renditions were deleted, the record left alone."""
