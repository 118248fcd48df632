"""Fixtures for the Lambda handlers: fake AWS under moto, the pipeline's buckets and table, events, a context."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

# Powertools' Tracer reads this when it is built: the handlers build it on an invocation whose trace header says
# sampled (handlers/pipeline/tracing.py), and a test that sends one would otherwise try to reach an X-Ray daemon.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")

try:
    import pipeline  # noqa: F401
except ImportError:
    # The Lambda zip's root is handlers/, so the handlers import as `pipeline`; mirror that here.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "handlers"))

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from imaging import ImagingSettings
from pipeline import context
from pipeline.context import Dependencies

REGION = "eu-west-1"
EVENT_ID = "17793124-05d4-b198-2fde-7ededc63b103"


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes of the Lambda context that Powertools' Logger reads."""

    function_name: str = "image-pipeline-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:111122223333:function:image-pipeline-test"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        """Powertools' idempotency expires in-progress records when the invocation would have timed out."""
        return 60_000


@dataclass(frozen=True)
class Pipeline:
    """The fake AWS side of one test: clients and the unique names of its buckets and tables."""

    s3: BaseClient
    dynamodb: BaseClient
    uploads_bucket: str
    unversioned_bucket: str
    results_bucket: str
    table_name: str
    idempotency_table: str


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach a real account even if mocking were off."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def pipeline_resources(aws: None) -> Pipeline:
    """A versioned uploads bucket, an unversioned one, the results bucket and the table, all uniquely named."""
    s3 = boto3.client("s3", region_name=REGION)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    resources = Pipeline(
        s3=s3,
        dynamodb=dynamodb,
        uploads_bucket=unique_name("uploads"),
        unversioned_bucket=unique_name("plain-uploads"),
        results_bucket=unique_name("results"),
        table_name=unique_name("objects"),
        idempotency_table=unique_name("idempotency"),
    )
    for bucket in (resources.uploads_bucket, resources.unversioned_bucket, resources.results_bucket):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=resources.uploads_bucket, VersioningConfiguration={"Status": "Enabled"})
    for table, key in ((resources.table_name, "objectKey"), (resources.idempotency_table, "id")):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return resources


def make_dependencies(
    resources: Pipeline, settings: ImagingSettings | None = None, memory_mb: int = 1024
) -> Dependencies:
    return Dependencies(
        s3=resources.s3,
        dynamodb=resources.dynamodb,
        table_name=resources.table_name,
        results_bucket=resources.results_bucket,
        idempotency=DynamoDBPersistenceLayer(table_name=resources.idempotency_table, boto3_client=resources.dynamodb),
        imaging=settings or ImagingSettings(),
        upload_prefix="uploads/",
        memory_mb=memory_mb,
    )


@pytest.fixture
def dependencies(pipeline_resources: Pipeline) -> Iterator[Dependencies]:
    """Injects the moto clients into the handlers, and drops them afterwards."""
    injected = make_dependencies(pipeline_resources)
    context.set_dependencies(injected)
    yield injected
    context.set_dependencies(None)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Returns the handler's log lines so far, parsed, as Powertools formats them.

    Powertools' handler writes to the sys.stdout of import time, which capsys does not see; a second handler
    sharing Powertools' formatter (it holds the appended keys, correlation id included) sees the same lines.
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    from pipeline import process

    handler.setFormatter(process.logger.registered_formatter)
    stdlib_logger = logging.getLogger(process.logger.name)
    stdlib_logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    stdlib_logger.removeHandler(handler)


@pytest.fixture
def make_event() -> Callable[..., dict[str, Any]]:
    """Builds an EventBridge "Object Created" event from S3, as the workflow hands it to the Lambda."""

    def build(
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        size: int = 5,
        etag: str = "etag",
        sequencer: str = "617F08299329D189",
        event_id: str = EVENT_ID,
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {"key": key, "size": size, "etag": etag, "sequencer": sequencer}
        if version_id is not None:
            obj["version-id"] = version_id
        return {
            "version": "0",
            "id": event_id,
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "111122223333",
            "time": "2021-11-12T00:00:00Z",
            "region": REGION,
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                "object": obj,
                "request-id": "N4N7GDK58NMKJ12R",
                "requester": "123456789012",
                "source-ip-address": "1.2.3.4",
                "reason": "PutObject",
            },
        }

    return build
