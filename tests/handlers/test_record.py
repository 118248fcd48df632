"""Tests of pipeline.record: the Lambda that records an uploaded object, end to end against moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from pipeline import record
from pipeline.errors import ConfigurationError, ObjectNotFound, PipelineError
from pydantic import ValidationError

if TYPE_CHECKING:
    # Types only: at run time `conftest` may name another directory's conftest module.
    from conftest import FakeLambdaContext, Pipeline

MakeEvent = Callable[..., dict[str, Any]]
_deserializer = TypeDeserializer()


def _upload(resources: Pipeline, bucket: str, key: str, body: bytes = b"hello", **extra: str) -> dict[str, Any]:
    return resources.s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)


def _manifest(resources: Pipeline, key: str) -> tuple[dict[str, Any], str]:
    response = resources.s3.get_object(Bucket=resources.results_bucket, Key=key)
    return json.loads(response["Body"].read()), response["ContentType"]


def _record(resources: Pipeline, object_key: str) -> dict[str, Any] | None:
    response = resources.dynamodb.get_item(TableName=resources.table_name, Key={"objectKey": {"S": object_key}})
    if "Item" not in response:
        return None
    return {name: _deserializer.deserialize(value) for name, value in response["Item"].items()}


def _assert_nothing_written(resources: Pipeline) -> None:
    manifests = resources.s3.list_objects_v2(Bucket=resources.results_bucket)["KeyCount"]
    records = resources.dynamodb.scan(TableName=resources.table_name)["Count"]
    assert (manifests, records) == (0, 0), f"expected no writes, found {manifests} manifests and {records} records"


def test_versioned_upload_writes_manifest_record_and_result(
    dependencies: record.Dependencies,
    pipeline_resources: Pipeline,
    make_event: MakeEvent,
    lambda_context: FakeLambdaContext,
) -> None:
    bucket = pipeline_resources.uploads_bucket
    put = _upload(pipeline_resources, bucket, "uploads/cat.jpg", ContentType="image/jpeg")
    head = pipeline_resources.s3.head_object(Bucket=bucket, Key="uploads/cat.jpg")
    etag = put["ETag"].strip('"')
    event = make_event(bucket, "uploads/cat.jpg", version_id=put["VersionId"], etag=etag)
    before = datetime.now(UTC)

    result = record.handler(event, lambda_context)

    assert result == {
        "objectKey": "uploads/cat.jpg",
        "status": "COMPLETE",
        "manifestKey": "metadata/uploads/cat.jpg.json",
        "sizeBytes": 5,
        "contentType": "image/jpeg",
    }
    manifest, content_type = _manifest(pipeline_resources, "metadata/uploads/cat.jpg.json")
    assert content_type == "application/json"
    assert manifest == {
        "bucket": bucket,
        "key": "uploads/cat.jpg",
        "versionId": put["VersionId"],
        "etag": etag,
        "sizeBytes": 5,
        "contentType": "image/jpeg",
        "lastModified": head["LastModified"].astimezone(UTC).isoformat(),
        "eventTime": "2021-11-12T00:00:00+00:00",
        "sequencer": "617f08299329d189",
    }
    item = _record(pipeline_resources, "uploads/cat.jpg")
    assert item is not None, "no record written for uploads/cat.jpg"
    updated_at = datetime.fromisoformat(item.pop("updatedAt"))
    assert updated_at.utcoffset() == timedelta(0), "updatedAt must be in UTC"
    assert before - timedelta(seconds=1) <= updated_at <= datetime.now(UTC)
    assert item == {
        "objectKey": "uploads/cat.jpg",
        "status": "COMPLETE",
        "bucket": bucket,
        "versionId": put["VersionId"],
        "etag": etag,
        "sizeBytes": 5,
        "contentType": "image/jpeg",
        "sequencer": "617f08299329d189",
        "eventTime": "2021-11-12T00:00:00+00:00",
        "manifestKey": "metadata/uploads/cat.jpg.json",
    }


def test_reads_the_version_named_by_the_event_not_the_latest(
    dependencies: record.Dependencies,
    pipeline_resources: Pipeline,
    make_event: MakeEvent,
    lambda_context: FakeLambdaContext,
) -> None:
    bucket = pipeline_resources.uploads_bucket
    first = _upload(pipeline_resources, bucket, "report.csv", body=b"a,b\n")
    _upload(pipeline_resources, bucket, "report.csv", body=b"a,b\n1,2\n3,4\n")

    result = record.handler(make_event(bucket, "report.csv", version_id=first["VersionId"]), lambda_context)

    assert result["sizeBytes"] == 4
    item = _record(pipeline_resources, "report.csv")
    assert item is not None, "no record written for report.csv"
    assert item["versionId"] == first["VersionId"]


def test_unversioned_upload_has_no_version_id(
    dependencies: record.Dependencies,
    pipeline_resources: Pipeline,
    make_event: MakeEvent,
    lambda_context: FakeLambdaContext,
) -> None:
    bucket = pipeline_resources.unversioned_bucket
    _upload(pipeline_resources, bucket, "notes.txt")

    result = record.handler(make_event(bucket, "notes.txt"), lambda_context)

    assert result["objectKey"] == "notes.txt"
    assert result["contentType"] == "binary/octet-stream"
    manifest, _ = _manifest(pipeline_resources, "metadata/notes.txt.json")
    assert manifest["versionId"] is None
    item = _record(pipeline_resources, "notes.txt")
    assert item is not None, "no record written for notes.txt"
    assert "versionId" not in item, f"versionId should be omitted for an unversioned object, got {item}"
    assert item["bucket"] == bucket


@pytest.mark.parametrize(
    ("event_key", "stored_key"),
    [
        pytest.param("my+cat.jpg", "my cat.jpg", id="space-delivered-as-plus"),
        pytest.param("a%2Bb.txt", "a+b.txt", id="plus-delivered-as-%2B"),
        pytest.param("a+b.txt", "a+b.txt", id="literal-plus"),
    ],
)
def test_url_encoded_keys_resolve_to_the_stored_object(
    event_key: str,
    stored_key: str,
    dependencies: record.Dependencies,
    pipeline_resources: Pipeline,
    make_event: MakeEvent,
    lambda_context: FakeLambdaContext,
) -> None:
    bucket = pipeline_resources.unversioned_bucket
    _upload(pipeline_resources, bucket, stored_key)

    result = record.handler(make_event(bucket, event_key), lambda_context)

    assert result["objectKey"] == stored_key
    assert result["manifestKey"] == f"metadata/{stored_key}.json"
    assert _record(pipeline_resources, stored_key) is not None, f"no record under the real key {stored_key!r}"
    assert _manifest(pipeline_resources, f"metadata/{stored_key}.json")[0]["key"] == stored_key


def test_literal_key_wins_over_its_decoded_form(
    dependencies: record.Dependencies,
    pipeline_resources: Pipeline,
    make_event: MakeEvent,
    lambda_context: FakeLambdaContext,
) -> None:
    bucket = pipeline_resources.unversioned_bucket
    _upload(pipeline_resources, bucket, "a+b.txt", body=b"plus")
    _upload(pipeline_resources, bucket, "a b.txt", body=b"space!")

    result = record.handler(make_event(bucket, "a+b.txt"), lambda_context)

    assert (result["objectKey"], result["sizeBytes"]) == ("a+b.txt", 4)
    assert _record(pipeline_resources, "a b.txt") is None


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "unversioned"])
def test_missing_object_raises_object_not_found_and_writes_nothing(
    versioned: bool,
    dependencies: record.Dependencies,
    pipeline_resources: Pipeline,
    make_event: MakeEvent,
    lambda_context: FakeLambdaContext,
) -> None:
    bucket = pipeline_resources.uploads_bucket if versioned else pipeline_resources.unversioned_bucket
    version_id = "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e" if versioned else None

    with pytest.raises(ObjectNotFound) as raised:
        record.handler(make_event(bucket, "gone+away.jpg", version_id=version_id), lambda_context)

    # Step Functions routes on the class name, and Python callers can catch the base class.
    assert type(raised.value).__name__ == "ObjectNotFound"
    assert isinstance(raised.value, PipelineError)
    assert raised.value.keys == ("gone+away.jpg", "gone away.jpg")
    assert raised.value.version_id == version_id
    _assert_nothing_written(pipeline_resources)


def test_malformed_event_raises_validation_error_and_writes_nothing(
    dependencies: record.Dependencies,
    pipeline_resources: Pipeline,
    make_event: MakeEvent,
    lambda_context: FakeLambdaContext,
) -> None:
    bucket = pipeline_resources.unversioned_bucket
    _upload(pipeline_resources, bucket, "notes.txt")
    event = make_event(bucket, "notes.txt")
    del event["detail"]["object"]

    with pytest.raises(ValidationError) as raised:
        record.handler(event, lambda_context)

    assert any(error["loc"] == ("detail", "object") for error in raised.value.errors()), raised.value
    _assert_nothing_written(pipeline_resources)


def test_logs_are_json_with_the_event_id_as_correlation_id(
    dependencies: record.Dependencies,
    pipeline_resources: Pipeline,
    make_event: MakeEvent,
    lambda_context: FakeLambdaContext,
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    bucket = pipeline_resources.unversioned_bucket
    _upload(pipeline_resources, bucket, "notes.txt")
    event = make_event(bucket, "notes.txt")

    record.handler(event, lambda_context)

    lines = log_lines()
    recorded = [line for line in lines if line.get("message") == "Recorded object"]
    assert len(recorded) == 1, f"expected one 'Recorded object' log line, got {lines}"
    assert recorded[0]["correlation_id"] == event["id"]
    assert recorded[0]["function_request_id"] == lambda_context.aws_request_id
    assert recorded[0]["objectKey"] == "notes.txt"


def test_builds_its_clients_from_the_environment_when_none_are_injected(
    pipeline_resources: Pipeline,
    make_event: MakeEvent,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(record.TABLE_NAME_ENV, pipeline_resources.table_name)
    monkeypatch.setenv(record.RESULTS_BUCKET_ENV, pipeline_resources.results_bucket)
    record.set_dependencies(None)
    bucket = pipeline_resources.unversioned_bucket
    _upload(pipeline_resources, bucket, "notes.txt")
    try:
        result = record.handler(make_event(bucket, "notes.txt"), lambda_context)
        assert record.get_dependencies().table_name == pipeline_resources.table_name
    finally:
        record.set_dependencies(None)

    assert result["status"] == "COMPLETE"
    assert _record(pipeline_resources, "notes.txt") is not None


@pytest.mark.parametrize("missing", [record.TABLE_NAME_ENV, record.RESULTS_BUCKET_ENV])
def test_missing_setting_raises_configuration_error_naming_it(missing: str) -> None:
    environ = {record.TABLE_NAME_ENV: "objects", record.RESULTS_BUCKET_ENV: "results"}
    del environ[missing]

    with pytest.raises(ConfigurationError, match=missing):
        record.Dependencies.from_environment(environ)
