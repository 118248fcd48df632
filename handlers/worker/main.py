"""Container entrypoint: render one upload the workflow routed to Fargate, exactly as the Lambda would.

The workflow starts the task with ``ecs:runTask.sync`` and names the upload in container environment overrides
(references only: see `pipeline.contract`):

``UPLOAD_BUCKET``, ``UPLOAD_OBJECT``
    The bucket, and the event's ``detail.object`` as JSON (key as delivered, size, etag, sequencer, version-id).
    The worker finds the object itself (the GET that downloads it) for everything else.
``EVENT_ID``
    The event's id, the correlation id of the log lines.
``TMPDIR``
    The scratch directory for the downloaded original (default ``/tmp``). The root filesystem is read-only, so the
    task mounts a size-limited volume there; the worker refuses to start when it cannot write to it.
``WORKER_MEMORY_MB``
    The task's memory, standing in for the ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` that Lambda would set.

The settings (``TABLE_NAME``, ``RESULTS_BUCKET``, ``IDEMPOTENCY_TABLE``, ``UPLOAD_PREFIX``, ``RENDITION_*``,
``MAX_IMAGE_*``) are the Lambda's, read by `pipeline.context.Dependencies.from_environment`.

Every run ends with one JSON log line on stdout: the result, or ``error`` (class name), ``reason`` and
``objectKey``; then, when the run counted something, one line of metrics in CloudWatch's embedded metric format
(ImagesCompleted, RenderTime and Megapixels under route ``fargate``; or a refusal's ImagesRefused and ImagesFailed:
see `pipeline.contract`). Step Functions sees only the container's exit code (in the stopped task's
``containers[].exitCode``):

== =============================================================================================================
0  Rendered: renditions stored, record COMPLETE.
1  Anything else: bad input, configuration, scratch directory, AWS or unexpected errors, SIGTERM. The record is
   left as it was, so the workflow's own failure write (or a retry) decides what happens.
2  Refused: the image is unsupported, too large, corrupt (`imaging.ImageError`) or the object is gone
   (`pipeline.errors.ObjectNotFound`). The record is already FAILED with the reason; retrying cannot help.
3  Superseded: a newer upload of the same key owns the record (`pipeline.errors.StaleEvent`); this run's
   renditions were deleted and the record was left to the newer upload. Not an error of the newer upload.
== =============================================================================================================
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from aws_lambda_powertools import Logger
from imaging import ImageError, inspect_image
from pipeline.context import MEMORY_ENV, Dependencies
from pipeline.contract import (
    EVENT_ID_ENV,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STALE,
    ROUTE_FARGATE,
    UPLOAD_BUCKET_ENV,
    UPLOAD_OBJECT_ENV,
    WORKER_MEMORY_ENV,
)
from pipeline.errors import ConfigurationError, ObjectNotFound, StaleEvent
from pipeline.events import S3Object, ValidationError
from pipeline.metrics import metrics
from pipeline.objects import UploadEvent, open_upload
from pipeline.render import RenderResult, completed_on, render_upload
from pipeline.steps import local_copy, refusals_recorded

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_REFUSED", "EXIT_STALE", "ScratchUnavailable", "WorkerError", "main"]

logger = Logger()
"""Service name from ``POWERTOOLS_SERVICE_NAME``, like the pipeline's loggers: same name, same handler and keys."""

SCRATCH_ENV = "TMPDIR"
DEFAULT_SCRATCH = "/tmp"


class WorkerError(Exception):
    """The worker's own input or environment is unusable; nothing was read or written. Exit code 1."""


class ScratchUnavailable(WorkerError):
    """The scratch directory cannot take the download: not writable, missing, or too small."""


class Terminated(WorkerError):
    """ECS is stopping the task (SIGTERM); raised where the work was, so the run still ends with its log line."""


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Render the work item named by `environ` and return the exit code; the outcome is logged as one line, then
    what the run counted is written as one line of metrics, whatever the exit (a container has no `log_metrics`)."""
    logger.clear_state()
    metrics.clear_metrics()  # one work item per process on ECS; in-process callers (tests, the emulator) run many
    try:
        return _run(sys.argv[1:] if argv is None else argv, os.environ if environ is None else environ)
    finally:
        # Printed, not sent: ECS's awslogs driver ships stdout with PutLogEvents, and CloudWatch extracts embedded
        # metric format documents from those log events with or without the `x-amzn-logs-format: json/emf` header
        # (AWS docs, "Using the PutLogEvents API to send manually-created embedded metric format logs").
        metrics.flush_metrics()


def _run(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    upload: UploadEvent | None = None
    try:
        with _terminated_on_sigterm():
            if argv:
                raise WorkerError(f"takes no arguments (got {list(argv)}); the upload comes from ${UPLOAD_OBJECT_ENV}")
            upload = _upload(environ)
            logger.set_correlation_id(environ.get(EVENT_ID_ENV))
            logger.append_keys(objectKey=upload.key)
            scratch = _writable_scratch(environ)
            dependencies = Dependencies.from_environment(_with_worker_memory(environ))
            result = _render(upload, scratch, dependencies)
            completed_on(ROUTE_FARGATE)
    except Exception as error:  # every failure ends the same way: one log line and an exit code
        return _report_failure(error, upload)
    logger.info("Work item rendered", extra={"result": result, "exitCode": EXIT_OK})
    return EXIT_OK


def _upload(environ: Mapping[str, str]) -> UploadEvent:
    bucket, raw = environ.get(UPLOAD_BUCKET_ENV, ""), environ.get(UPLOAD_OBJECT_ENV, "")
    if not bucket.strip() or not raw.strip():
        raise WorkerError(
            f"${UPLOAD_BUCKET_ENV} and ${UPLOAD_OBJECT_ENV} must be set; the workflow passes the upload event's "
            "bucket name and `detail.object` (as JSON) as container environment overrides"
        )
    try:
        return UploadEvent.of(bucket, S3Object.parse(json.loads(raw)))
    except (json.JSONDecodeError, ValidationError) as error:
        raise WorkerError(f"${UPLOAD_OBJECT_ENV} is not an S3 event's `detail.object`: {error}") from error


def _render(upload: UploadEvent, scratch: Path, dependencies: Dependencies) -> RenderResult:
    """Download the upload once, to the checked scratch directory, and render it; a refusal (the image, or the object
    gone since the Lambda validated it) is recorded FAILED with its reason."""
    with refusals_recorded(upload, dependencies), open_upload(dependencies.s3, upload) as opened:
        _check_space(scratch, opened.stored.size_bytes)
        with _temporary_files_in(scratch), local_copy(opened, dependencies) as local:
            header = inspect_image(local, dependencies.imaging.limits)  # the heavy path passes no header
            return render_upload(upload, local, header, dependencies)


def _writable_scratch(environ: Mapping[str, str]) -> Path:
    """The directory the download goes to, proven writable before anything is read from S3."""
    directory = Path(environ.get(SCRATCH_ENV) or DEFAULT_SCRATCH)
    try:
        handle, name = tempfile.mkstemp(prefix="probe-", dir=directory)  # the same call the download makes
    except OSError as error:
        raise ScratchUnavailable(
            f"scratch directory {directory} (${SCRATCH_ENV}) is not writable: {error.strerror or error}. "
            "The root filesystem is read-only: mount a writable volume there or point $TMPDIR at one"
        ) from error
    os.close(handle)
    os.unlink(name)
    return directory


def _check_space(directory: Path, needed_bytes: int) -> None:
    """Refuse before downloading an object the scratch volume cannot hold."""
    free = shutil.disk_usage(directory).free
    if free < needed_bytes:
        raise ScratchUnavailable(
            f"scratch directory {directory} has {free:,} bytes free; the object is {needed_bytes:,} bytes. "
            "Give the task's scratch volume more space"
        )
    logger.info("Scratch directory ready", extra={"scratch": str(directory), "freeBytes": free})


@contextmanager
def _temporary_files_in(directory: Path) -> Iterator[None]:
    """`pipeline.objects.download` uses `tempfile`'s default directory; point it at the checked scratch dir."""
    previous = tempfile.tempdir
    tempfile.tempdir = str(directory)
    try:
        yield
    finally:
        tempfile.tempdir = previous


@contextmanager
def _terminated_on_sigterm() -> Iterator[None]:
    """As PID 1 the interpreter would ignore SIGTERM and be killed at the stop timeout without a word."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"received {signal.Signals(signum).name}: the task is being stopped before it finished")


def _with_worker_memory(environ: Mapping[str, str]) -> Mapping[str, str]:
    memory = environ.get(WORKER_MEMORY_ENV, "")
    if not memory:
        return environ
    if not memory.isdigit() or int(memory) < 1:
        raise WorkerError(f"${WORKER_MEMORY_ENV} must be the task's memory in MiB, a positive integer; got {memory!r}")
    return {**environ, MEMORY_ENV: memory}


def _report_failure(error: Exception, upload: UploadEvent | None) -> int:
    code = _exit_code(error)
    fields = {
        "error": type(error).__name__,
        "reason": error.reason if isinstance(error, ImageError) else str(error),
        "objectKey": upload.key if upload else None,
        "exitCode": code,
    }
    if code == EXIT_STALE:
        logger.warning("Work item superseded by a newer upload", extra=fields)
    elif code == EXIT_REFUSED:
        logger.error("Image refused", extra=fields)
    elif isinstance(error, WorkerError | ConfigurationError):
        logger.error("Worker cannot run", extra=fields)  # the task's input or definition: no traceback needed
    else:
        logger.exception("Work item failed", extra=fields)  # unexpected: keep the traceback, in the same line
    return code


def _exit_code(error: Exception) -> int:
    if isinstance(error, StaleEvent):
        return EXIT_STALE
    if isinstance(error, ImageError | ObjectNotFound):
        return EXIT_REFUSED
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
