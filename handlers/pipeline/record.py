"""Record one uploaded object: the pipeline's Lambda task.

Step Functions passes the EventBridge "Object Created" event through unchanged. For the object it names, this
handler reads the object's metadata, writes a JSON manifest to the results bucket and records the object in the
table, then returns a small summary that the workflow keeps as the task result.

Handler string: ``pipeline.record.handler``.

Environment:
    TABLE_NAME: DynamoDB table with partition key ``objectKey`` (string) and no sort key.
    RESULTS_BUCKET: bucket the manifests are written to, under ``metadata/``.
    POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL: read by Powertools' Logger and Tracer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeSerializer
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from .errors import ConfigurationError, ObjectNotFound

__all__ = [
    "RESULTS_BUCKET_ENV",
    "STATUS_COMPLETE",
    "TABLE_NAME_ENV",
    "Dependencies",
    "RecordResult",
    "StoredObject",
    "find_object",
    "get_dependencies",
    "handler",
    "manifest_key",
    "process_event",
    "set_dependencies",
]

TABLE_NAME_ENV = "TABLE_NAME"
RESULTS_BUCKET_ENV = "RESULTS_BUCKET"
STATUS_COMPLETE = "COMPLETE"
MANIFEST_PREFIX = "metadata/"
# What S3 itself reports for an object uploaded without a Content-Type.
DEFAULT_CONTENT_TYPE = "binary/octet-stream"

logger = Logger()
tracer = Tracer()
_serializer = TypeSerializer()


class RecordResult(TypedDict):
    """What the handler returns; the workflow keeps it as the task result."""

    objectKey: str
    status: str
    manifestKey: str
    sizeBytes: int
    contentType: str


@dataclass(frozen=True)
class Dependencies:
    """The clients and resource names the handler works with, injectable for tests and local runs."""

    s3: BaseClient
    dynamodb: BaseClient
    table_name: str
    results_bucket: str

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, session: boto3.Session | None = None
    ) -> Dependencies:
        """Build from the function's environment variables and the default (or given) boto3 session."""
        environ = os.environ if environ is None else environ
        # Settings first: a misconfigured function should say so before anything touches AWS.
        table_name = _require(environ, TABLE_NAME_ENV)
        results_bucket = _require(environ, RESULTS_BUCKET_ENV)
        session = session or boto3.Session()
        return cls(
            s3=session.client("s3"),
            dynamodb=session.client("dynamodb"),
            table_name=table_name,
            results_bucket=results_bucket,
        )


@dataclass(frozen=True)
class StoredObject:
    """The uploaded object as S3 describes it now, under the key it was actually found at."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size_bytes: int
    content_type: str
    last_modified: datetime


# Module scope so warm invocations reuse the clients and their connections; built on first use rather than at
# import so that importing this module (tests, tooling) needs neither AWS configuration nor the function's settings.
_dependencies: Dependencies | None = None


def get_dependencies() -> Dependencies:
    """The dependencies the handler uses: the injected ones, or ones built once from the environment."""
    global _dependencies
    if _dependencies is None:
        _dependencies = Dependencies.from_environment()
    return _dependencies


def set_dependencies(dependencies: Dependencies | None) -> None:
    """Inject the handler's dependencies; ``None`` makes the next invocation build them from the environment."""
    global _dependencies
    _dependencies = dependencies


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> RecordResult:
    """Lambda entry point; ``clear_state`` keeps one invocation's log keys out of the next one's logs."""
    return process_event(event, get_dependencies())


def process_event(event: dict[str, Any], dependencies: Dependencies) -> RecordResult:
    """Validate the EventBridge event, then record the object it names.

    Raises the parser's ``ValidationError`` for a malformed event and ``ObjectNotFound`` for a missing object;
    in both cases nothing is written.
    """
    notification = parse(event=event, model=S3EventNotificationEventBridgeModel)
    detail = notification.detail
    stored = find_object(dependencies.s3, detail.bucket.name, detail.object.key, detail.object.version_id)
    logger.append_keys(bucket=stored.bucket, objectKey=stored.key)
    tracer.put_annotation(key="objectKey", value=stored.key)

    key = manifest_key(stored.key)
    # The manifest goes first so that a record never points at a manifest that is not there.
    _write_manifest(dependencies.s3, dependencies.results_bucket, key, _manifest(stored, notification))
    _put_record(dependencies.dynamodb, dependencies.table_name, _item(stored, notification, key))
    logger.info("Recorded object", extra={"manifestKey": key, "sizeBytes": stored.size_bytes})
    return {
        "objectKey": stored.key,
        "status": STATUS_COMPLETE,
        "manifestKey": key,
        "sizeBytes": stored.size_bytes,
        "contentType": stored.content_type,
    }


def find_object(s3: BaseClient, bucket: str, key: str, version_id: str | None = None) -> StoredObject:
    """Head the object under the key as delivered, falling back to the URL-decoded key.

    S3 notifications URL-encode keys (a space arrives as '+'), yet '+' may also be a literal character of the key,
    so the literal key is tried first and the decoded one only when the literal one does not exist.
    """
    keys = (key,) if unquote_plus(key) == key else (key, unquote_plus(key))
    for candidate in keys:
        head = _head_or_none(s3, bucket, candidate, version_id)
        if head is not None:
            return _stored_object(bucket, candidate, version_id, head)
    raise ObjectNotFound(bucket=bucket, keys=keys, version_id=version_id)


def manifest_key(object_key: str) -> str:
    """Where the manifest of ``object_key`` lives in the results bucket."""
    return f"{MANIFEST_PREFIX}{object_key}.json"


def _require(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise ConfigurationError(name)
    return value


def _head_or_none(s3: BaseClient, bucket: str, key: str, version_id: str | None) -> dict[str, Any] | None:
    """HeadObject, with ``None`` for a 404; every other error (403 included) propagates as it is."""
    params: dict[str, str] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    try:
        return s3.head_object(**params)
    except ClientError as error:
        # A HEAD response has no body, so the status code is the only reliable signal.
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return None
        raise


def _stored_object(bucket: str, key: str, version_id: str | None, head: dict[str, Any]) -> StoredObject:
    return StoredObject(
        bucket=bucket,
        key=key,
        # Prefer what S3 answers: it is the version actually read.
        version_id=head.get("VersionId") or version_id,
        # S3 quotes ETags in headers; the event and the records carry them bare.
        etag=head["ETag"].strip('"'),
        size_bytes=int(head["ContentLength"]),
        content_type=head.get("ContentType") or DEFAULT_CONTENT_TYPE,
        last_modified=head["LastModified"],
    )


def _manifest(stored: StoredObject, notification: S3EventNotificationEventBridgeModel) -> dict[str, Any]:
    return {
        "bucket": stored.bucket,
        "key": stored.key,
        "versionId": stored.version_id,
        "etag": stored.etag,
        "sizeBytes": stored.size_bytes,
        "contentType": stored.content_type,
        "lastModified": _isoformat(stored.last_modified),
        "eventTime": _isoformat(notification.time),
        "sequencer": notification.detail.object.sequencer,
    }


def _write_manifest(s3: BaseClient, bucket: str, key: str, manifest: dict[str, Any]) -> None:
    body = json.dumps(manifest, sort_keys=True).encode("utf-8")
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def _item(stored: StoredObject, notification: S3EventNotificationEventBridgeModel, key: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "objectKey": stored.key,
        "status": STATUS_COMPLETE,
        "bucket": stored.bucket,
        "versionId": stored.version_id,
        "etag": stored.etag,
        "sizeBytes": stored.size_bytes,
        "contentType": stored.content_type,
        "sequencer": notification.detail.object.sequencer,
        "eventTime": _isoformat(notification.time),
        "updatedAt": _isoformat(datetime.now(UTC)),
        "manifestKey": key,
    }
    # Absent rather than NULL: an unversioned object has no version, and queries can test attribute_exists.
    return {name: value for name, value in item.items() if value is not None}


def _put_record(dynamodb: BaseClient, table_name: str, item: dict[str, Any]) -> None:
    dynamodb.put_item(TableName=table_name, Item={name: _serializer.serialize(value) for name, value in item.items()})


def _isoformat(moment: datetime) -> str:
    """ISO-8601 in UTC, so that timestamps from S3, EventBridge and this function compare as strings."""
    return moment.astimezone(UTC).isoformat()
