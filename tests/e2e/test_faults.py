"""Faults injected into the emulator while an upload goes through: transient errors are retried and the image
completes; a handler that crashes or times out, and a worker that exits non-zero, end in a FAILED record that
says what happened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app.demo.cloud import PipelineCloud
from emulator.cloud import UndeliveredEvent
from emulator.runtime import TIMEOUT_ERROR
from tests.e2e.conftest import unique
from tests.handlers import images

PROCESS = "process-function"


def function_name(cloud: PipelineCloud, logical: str) -> str:
    return cloud.synthesis.one("aws:lambda/function:Function", logical).inputs["name"]


@contextmanager
def timeout_of(cloud: PipelineCloud, logical: str, seconds: int) -> Iterator[None]:
    """A function's timeout changed through the Lambda API for the duration, then restored."""
    functions, name = cloud.client("lambda"), function_name(cloud, logical)
    before = functions.get_function_configuration(FunctionName=name)["Timeout"]
    functions.update_function_configuration(FunctionName=name, Timeout=seconds)
    try:
        yield
    finally:
        functions.update_function_configuration(FunctionName=name, Timeout=before)


def test_a_transient_s3_error_is_retried_and_the_image_completes(cloud, faults):
    key = unique("slow.jpg")
    fault = faults.inject("s3", "GetObject", error="SlowDown", key=key, times=1)
    [outcome] = cloud.wait([cloud.upload(key, images.jpeg(), "image/jpeg")])
    assert fault.hits == 1
    assert (outcome.status, len(outcome.renditions)) == ("COMPLETE", 3)


def test_transient_dynamodb_throttling_is_retried_and_the_image_completes(cloud, faults):
    fault = faults.inject("dynamodb", "UpdateItem", error="ProvisionedThroughputExceededException", times=2,
                          within=function_name(cloud, PROCESS))  # fmt: skip
    [outcome] = cloud.wait([cloud.upload(unique("busy.jpg"), images.jpeg(), "image/jpeg")])
    assert fault.hits == 2
    assert (outcome.status, len(outcome.renditions)) == ("COMPLETE", 3)


def test_a_handler_that_crashes_is_caught_and_recorded(cloud, faults):
    key = unique("denied.jpg")
    faults.inject("s3", "PutObject", error="AccessDenied", key=f"renditions/{key.removeprefix('uploads/')}", times=None)
    [outcome] = cloud.wait([cloud.upload(key, images.jpeg(), "image/jpeg")])
    [execution] = outcome.executions
    # Lambda names the error after the exception's class: botocore raises S3's AccessDenied as `AccessDenied`.
    assert (execution.status, execution.error) == ("FAILED", "AccessDenied")
    assert (outcome.record["status"], outcome.record["error"]) == ("FAILED", "AccessDenied")
    assert "PutObject" in json.loads(outcome.record["cause"])["errorMessage"]
    assert outcome.record["route"] == "lambda"


def test_a_handler_that_times_out_is_caught_and_recorded(cloud, faults):
    with timeout_of(cloud, PROCESS, 1):
        # The handler's first call (Powertools' idempotency claim) is held past the function's timeout.
        faults.inject("dynamodb", "PutItem", delay=2.5, within=function_name(cloud, PROCESS))
        [outcome] = cloud.wait([cloud.upload(unique("slow-process.jpg"), images.jpeg(), "image/jpeg")])
    [execution] = outcome.executions
    assert (execution.status, execution.error) == ("FAILED", TIMEOUT_ERROR)
    assert (outcome.record["status"], outcome.record["error"]) == ("FAILED", TIMEOUT_ERROR)
    assert "Task timed out after 1.00 seconds" in outcome.record["cause"]
    assert outcome.renditions == []


def test_a_worker_that_exits_non_zero_is_caught_and_recorded(cloud, faults, big_png):
    faults.inject("s3", "PutObject", error="AccessDenied", within="container", times=None)
    upload = cloud.upload(unique(big_png.name), big_png.data, big_png.content_type)
    [outcome] = cloud.wait([upload])
    assert [(e.state_machine.split("-dev-")[-1], e.status) for e in outcome.executions] == [
        ("process-upload", "SUCCEEDED"),
        ("heavy-path", "FAILED"),
    ]
    assert (outcome.record["status"], outcome.record["route"], outcome.record["error"]) == (
        "FAILED", "fargate", "WorkerFailed")  # fmt: skip
    assert outcome.record["cause"] == "the worker exited with code 1; its log stream says why"


def test_a_data_api_error_reaches_the_workflow_under_its_step_functions_name(cloud, faults):
    faults.inject("rds-data", "ExecuteStatement", error="BadRequestException")
    [outcome] = cloud.wait([cloud.upload(unique("uncatalogued.jpg"), images.jpeg(), "image/jpeg")])
    [execution] = outcome.executions
    failed = [e["taskFailedEventDetails"] for e in cloud.history(execution.arn) if e["type"] == "TaskFailed"]
    assert failed[0]["error"] == "RdsData.BadRequestException"
    assert outcome.status == "COMPLETE", "a failed catalog insert does not undo the render"


def test_a_transient_data_api_error_is_retried_under_its_step_functions_name_and_the_image_completes(cloud, faults):
    """RDS Data's `ServiceUnavailableError` lacks the `Exception` suffix that Step Functions appends: a Retry on the
    shape's own name would never match, and the catalog insert would fail on the first transient error."""
    fault = faults.inject("rds-data", "ExecuteStatement", error="ServiceUnavailableError", times=1)
    [outcome] = cloud.wait([cloud.upload(unique("unavailable.jpg"), images.jpeg(), "image/jpeg")])
    [execution] = outcome.executions
    failed = [e["taskFailedEventDetails"] for e in cloud.history(execution.arn) if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failed] == ["RdsData.ServiceUnavailableErrorException"]
    assert fault.hits == 1
    assert execution.status == "SUCCEEDED", f"{execution.error}: {execution.cause}"
    assert (outcome.status, outcome.record.get("catalog"), len(outcome.renditions)) == ("COMPLETE", None, 3)


def test_a_failed_catalog_insert_is_recorded_on_the_image(cloud, faults):
    """The run that found `catalog`, a DynamoDB reserved word, used bare in this write (fixed in f0e2d3e)."""
    faults.inject("rds-data", "ExecuteStatement", error="BadRequestException")
    [outcome] = cloud.wait([cloud.upload(unique("uncatalogued.jpg"), images.jpeg(), "image/jpeg")])
    [execution] = outcome.executions
    assert (execution.status, execution.error) == ("FAILED", "RdsData.BadRequestException")
    assert (outcome.record["status"], outcome.record.get("catalog")) == ("COMPLETE", "FAILED")
    assert "injected by the local cloud's fault plan" in outcome.record["catalogError"]
    assert len(outcome.renditions) == 3, "a failed catalog insert does not undo the render"


def test_an_event_the_rule_cannot_deliver_is_kept_in_the_dead_letter_queue(cloud):
    events, sqs = cloud.client("events"), cloud.client("sqs")
    target = cloud.synthesis.one("aws:cloudwatch/eventTarget:EventTarget")
    [deployed] = events.list_targets_by_rule(Rule=target.inputs["rule"])["Targets"]
    missing = deployed["Arn"].rsplit(":", 1)[0] + ":no-such-workflow"
    events.put_targets(Rule=target.inputs["rule"], Targets=[{**deployed, "Arn": missing}])
    try:
        key = unique("undeliverable.jpg")
        with pytest.raises(UndeliveredEvent, match="started no execution"):
            cloud.upload(key, images.jpeg(), "image/jpeg")
    finally:
        events.put_targets(Rule=target.inputs["rule"], Targets=[deployed])
    queue = cloud.synthesis.outputs["deadLetterQueueUrl"]
    [message] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert json.loads(message["Body"])["detail"]["object"]["key"] == f"{cloud.upload_prefix}{key}"
    assert message["MessageAttributes"]["TARGET_ARN"]["StringValue"] == missing
    # The rule's role may start the stack's workflow only: EventBridge reports the other target as NO_PERMISSIONS.
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
