"""The errors the pipeline's handlers raise on purpose.

Lambda reports an unhandled exception's class name as ``errorType`` and Step Functions matches ``ErrorEquals`` on
that exact name, so these class names are part of the workflow contract: renaming one changes which Retry or Catch
applies. Step Functions does not know the class hierarchy either: a Catch on ``PipelineError`` does not catch an
``ObjectNotFound``; list each name (or use ``States.TaskFailed``). The base class is for Python callers.
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "ObjectNotFound", "PipelineError", "StaleEvent"]


class PipelineError(Exception):
    """Base class of every error the pipeline raises deliberately."""


class ConfigurationError(PipelineError):
    """The function's environment lacks a setting it needs; fix the deployment, retrying will not help."""

    def __init__(self, variable: str) -> None:
        self.variable = variable
        super().__init__(
            f"Environment variable {variable} is not set; set it on the Lambda function or the Fargate task definition."
        )


class ObjectNotFound(PipelineError):
    """The object named by the event does not exist (any more) under any of the keys tried."""

    def __init__(self, *, bucket: str, keys: tuple[str, ...], version_id: str | None = None) -> None:
        self.bucket = bucket
        self.keys = keys
        self.version_id = version_id
        version = f" version {version_id}" if version_id else ""
        tried = ", ".join(repr(key) for key in keys)
        super().__init__(
            f"No object{version} in bucket {bucket!r} under key {tried}; "
            "it was deleted or overwritten before the pipeline ran, or the event names a different object."
        )


class StaleEvent(PipelineError):
    """A newer upload of the same key owns the record: this older (or repeated) event must not overwrite it."""

    def __init__(self, object_key: str, sequencer: str) -> None:
        self.object_key = object_key
        self.sequencer = sequencer
        super().__init__(
            f"The record of {object_key!r} belongs to a newer upload than event sequencer {sequencer}; "
            "this event was skipped so that it cannot overwrite the newer result."
        )
