"""Container entrypoint: render one upload the workflow routed to Fargate, exactly as the Lambda would.

The workflow starts the task with ``ecs:runTask.sync`` and passes the work as container environment overrides:

``WORK_ITEM``
    The JSON of the workflow state that ``pipeline.render.handler`` receives: the S3 "Object Created" event with
    the validate step's result at ``validation``.
``TMPDIR``
    The scratch directory for the downloaded original (default ``/tmp``). The root filesystem is read-only, so the
    task mounts a size-limited volume there; the worker refuses to start when it cannot write to it.
``WORKER_MEMORY_MB``
    The task's memory, standing in for the ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` that Lambda would set.

The settings (``TABLE_NAME``, ``RESULTS_BUCKET``, ``IDEMPOTENCY_TABLE``, ``UPLOAD_PREFIX``, ``RENDITION_*``,
``MAX_IMAGE_*``) are the Lambda's, read by `pipeline.context.Dependencies.from_environment`.

Every run ends with one JSON log line on stdout: the result, or ``error`` (class name), ``reason`` and
``objectKey``. Step Functions sees only the container's exit code (in the stopped task's ``containers[].exitCode``):

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
from typing import Any

from aws_lambda_powertools import Logger
from imaging import ImageError
from pipeline.context import MEMORY_ENV, Dependencies
from pipeline.errors import ConfigurationError, ObjectNotFound, StaleEvent
from pipeline.render import render

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_REFUSED", "EXIT_STALE", "ScratchUnavailable", "WorkerError", "main"]

logger = Logger()
"""Service name from ``POWERTOOLS_SERVICE_NAME``, like the pipeline's loggers: same name, same handler and keys."""

WORK_ITEM_ENV = "WORK_ITEM"
SCRATCH_ENV = "TMPDIR"
DEFAULT_SCRATCH = "/tmp"
WORKER_MEMORY_ENV = "WORKER_MEMORY_MB"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_STALE = 3


class WorkerError(Exception):
    """The worker's own input or environment is unusable; nothing was read or written. Exit code 1."""


class ScratchUnavailable(WorkerError):
    """The scratch directory cannot take the download: not writable, missing, or too small."""


class Terminated(WorkerError):
    """ECS is stopping the task (SIGTERM); raised where the work was, so the run still ends with its log line."""


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Render the work item named by `environ` and return the exit code; the outcome is logged as one line."""
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    logger.clear_state()
    event: dict[str, Any] | None = None
    try:
        with _terminated_on_sigterm():
            if argv:
                raise WorkerError(f"takes no arguments (got {list(argv)}); the work item comes from ${WORK_ITEM_ENV}")
            event = _work_item(environ)
            logger.set_correlation_id(event.get("id"))
            logger.append_keys(objectKey=_object_key(event))
            scratch = _scratch_directory(environ, _object_size(event))
            dependencies = Dependencies.from_environment(_with_worker_memory(environ))
            with _temporary_files_in(scratch):
                result = render(event, dependencies)
    except Exception as error:  # every failure ends the same way: one log line and an exit code
        return _report_failure(error, event)
    logger.info("Work item rendered", extra={"result": result, "exitCode": EXIT_OK})
    return EXIT_OK


def _work_item(environ: Mapping[str, str]) -> dict[str, Any]:
    raw = environ.get(WORK_ITEM_ENV, "")
    if not raw.strip():
        raise WorkerError(
            f"${WORK_ITEM_ENV} is not set; the workflow passes the render step's input (the upload event with "
            "its `validation`) as this container environment override"
        )
    try:
        event = json.loads(raw)
    except json.JSONDecodeError as error:
        raise WorkerError(f"${WORK_ITEM_ENV} is not valid JSON: {error}") from error
    if not isinstance(_dig(event, "validation", "object"), dict):
        raise WorkerError(
            f"${WORK_ITEM_ENV} has no `validation.object`: pass the workflow state after the validate step, "
            "not the bare upload event"
        )
    return event


def _scratch_directory(environ: Mapping[str, str], needed_bytes: int | None) -> Path:
    """The directory the download goes to, proven writable and big enough before anything is read from S3."""
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
    free = shutil.disk_usage(directory).free
    if needed_bytes is not None and free < needed_bytes:
        raise ScratchUnavailable(
            f"scratch directory {directory} has {free:,} bytes free; the object is {needed_bytes:,} bytes. "
            "Give the task's scratch volume more space"
        )
    logger.info("Scratch directory ready", extra={"scratch": str(directory), "freeBytes": free})
    return directory


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


def _report_failure(error: Exception, event: dict[str, Any] | None) -> int:
    code = _exit_code(error)
    fields = {
        "error": type(error).__name__,
        "reason": error.reason if isinstance(error, ImageError) else str(error),
        "objectKey": _object_key(event),
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


def _object_key(event: dict[str, Any] | None) -> str | None:
    key = _dig(event, "detail", "object", "key")
    return key if isinstance(key, str) else None


def _object_size(event: dict[str, Any]) -> int | None:
    size = _dig(event, "validation", "object", "sizeBytes")
    return int(size) if isinstance(size, int | float) else None


def _dig(value: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


if __name__ == "__main__":
    sys.exit(main())
