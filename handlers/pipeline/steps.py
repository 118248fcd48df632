"""What the process Lambda and the Fargate worker both do around the validation and rendering steps: work on one
local copy of the upload, and record a refusal FAILED with its reason, whichever step refused.

The copy is downloaded once per run and every step reads it, so an image is never fetched twice; a refusal is
recorded in one place, so a step need not know whether another step of the same run could record it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aws_lambda_powertools import Logger
from imaging import ImageError

from .context import Dependencies
from .errors import ObjectNotFound
from .metrics import count_refusal
from .objects import OpenedObject, UploadEvent, download
from .records import ImageRecords

logger = Logger()


@contextmanager
def local_copy(opened: OpenedObject, dependencies: Dependencies) -> Iterator[Path]:
    """The opened upload streamed to a temporary file (refused first when over the size limit), removed when the run
    is done with it: /tmp is the function's or the task's to reuse."""
    local = download(opened, dependencies.imaging.limits.max_bytes)
    try:
        yield local
    finally:
        local.unlink()


@contextmanager
def refusals_recorded(upload: UploadEvent, dependencies: Dependencies) -> Iterator[None]:
    """Record a refused image (`imaging.ImageError`) or a vanished object FAILED with a human-readable reason, count
    it, and let the error go on: its class name is what the workflow and the worker's exit code route on."""
    try:
        yield
    except (ImageError, ObjectNotFound) as error:
        reason = error.reason if isinstance(error, ImageError) else str(error)
        recorded = ImageRecords(dependencies.dynamodb, dependencies.table_name).fail(
            upload, type(error).__name__, reason
        )
        logger.warning("Upload refused", extra={"error": type(error).__name__, "reason": reason, "recorded": recorded})
        if recorded:  # a newer upload owns the record, or this one completed: its outcome is not this run's
            count_refusal(type(error).__name__)
        raise
