"""The workflows' own writes to an image record, run for real: the exact UpdateExpression, ConditionExpression,
names and values that the states send (`record_failed`, and the catalog-failure mark of `finish`), with their
JSONPaths substituted as Step Functions would, against a DynamoDB table in moto."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

from app.catalog import finish
from app.recording import record_failed
from components.profile import RetrySettings
from components.states import Pass, State
from components.table import Table

REGION = "eu-west-1"
KEY = "uploads/cat.jpg"
THIS = "0065F1A2B3C4D5E6F7"
NEWER = "0065F1A2B3C4D5E6F8"
ENTERED_TIME = "2025-06-01T12:00:00.000Z"
STATE_INPUT = {
    "detail": {"object": {"key": KEY, "sequencer": THIS}},
    "error": {"Error": "IdempotencyAlreadyInProgressError", "Cause": "another execution is rendering this upload"},
    "catalogError": {"Error": "RdsData.DatabaseResumingException", "Cause": "the cluster is resuming"},
}
"""An execution's state where the writes run: its upload, and the error each write records."""


class StubTable:
    """The images Table's own task integration over the moto table's name; its grants are not under test here."""

    update_item_task = Table.update_item_task

    def __init__(self, name: str) -> None:
        self.name = name

    def grant_update(self, grantee: Any) -> None:
        return None


class StubCatalog:
    """Stands in for the database: the insert's own state is not under test, only the write after it."""

    def execute_statement_task(self, name: str, sql: str, parameters: Any, **options: Any) -> State:
        return Pass(name, next=options["next"])


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[BaseClient]:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def table(dynamodb: BaseClient) -> str:
    name = f"images-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "objectKey", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "objectKey", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def failure_write(table: str) -> dict[str, Any]:
    state = record_failed("RecordFailure", StubTable(table), then="Failed", error={"S.$": "$.error.Error"},
                          cause={"S.$": "$.error.Cause"})  # fmt: skip
    return sent(state)


def catalog_failure_write(table: str) -> dict[str, Any]:
    states = finish(StubTable(table), StubCatalog(), writer=None)
    return sent(next(state for state in states if state.name == "RecordCatalogFailure"))


def sent(state: State) -> dict[str, Any]:
    """The UpdateItem request the state makes for STATE_INPUT: its Parameters with every `.$` field evaluated."""
    return _evaluate(state.to_asl(RetrySettings())["Parameters"])


def _evaluate(value: Any) -> Any:
    if isinstance(value, dict):
        return {key.removesuffix(".$"): _path(item) if key.endswith(".$") else _evaluate(item)
                for key, item in value.items()}  # fmt: skip
    return value


def _path(path: str) -> Any:
    """A plain JSONPath into STATE_INPUT, or the context's entry time; anything else is not substituted here."""
    if path == "$$.State.EnteredTime":
        return ENTERED_TIME
    assert path.startswith("$."), f"{path}: only plain paths are substituted by this test"
    value: Any = STATE_INPUT
    for name in path.removeprefix("$.").split("."):
        value = value[name]
    return value


def given(dynamodb: BaseClient, table: str, *, status: str, sequencer: str) -> dict[str, str]:
    """A record as the handlers leave it (handlers/pipeline/records.py), owned by the upload with `sequencer`."""
    item = {"objectKey": KEY, "status": status, "rawSequencer": sequencer, "sequencer": sequencer.zfill(32)}
    dynamodb.put_item(TableName=table, Item={name: {"S": value} for name, value in item.items()})
    return item


def record(dynamodb: BaseClient, table: str) -> dict[str, str]:
    item = dynamodb.get_item(TableName=table, Key={"objectKey": {"S": KEY}})["Item"]
    return {name: value["S"] for name, value in item.items()}


def refuse(dynamodb: BaseClient, request: dict[str, Any]) -> None:
    """The write is refused by its condition (and by nothing else: a malformed expression is a different error)."""
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.update_item(**request)


def test_a_failure_is_written_when_no_upload_has_claimed_the_record(dynamodb, table):
    dynamodb.update_item(**failure_write(table))
    written = record(dynamodb, table)
    assert written["status"] == "FAILED"
    assert written["error"] == STATE_INPUT["error"]["Error"]
    assert written["updatedAt"] == ENTERED_TIME


@pytest.mark.parametrize("status", ["PROCESSING", "FAILED"])
def test_a_failure_is_written_over_this_uploads_unfinished_record(dynamodb, table, status):
    given(dynamodb, table, status=status, sequencer=THIS)
    dynamodb.update_item(**failure_write(table))
    written = record(dynamodb, table)
    assert (written["status"], written["cause"]) == ("FAILED", STATE_INPUT["error"]["Cause"])


def test_a_failure_is_refused_over_this_uploads_complete_record(dynamodb, table):
    """Two executions of one upload: the first completed, the second's failure must not undo that."""
    before = given(dynamodb, table, status="COMPLETE", sequencer=THIS)
    refuse(dynamodb, failure_write(table))
    assert record(dynamodb, table) == before


@pytest.mark.parametrize("status", ["PROCESSING", "COMPLETE", "FAILED"])
def test_a_failure_is_refused_over_a_newer_uploads_record(dynamodb, table, status):
    before = given(dynamodb, table, status=status, sequencer=NEWER)
    refuse(dynamodb, failure_write(table))
    assert record(dynamodb, table) == before


def test_a_catalog_failure_is_marked_on_this_uploads_complete_record(dynamodb, table):
    given(dynamodb, table, status="COMPLETE", sequencer=THIS)
    dynamodb.update_item(**catalog_failure_write(table))
    written = record(dynamodb, table)
    assert written["status"] == "COMPLETE", "the image was rendered; only its catalog row is missing"
    assert (written["catalog"], written["catalogError"]) == ("FAILED", STATE_INPUT["catalogError"]["Cause"])


def test_a_catalog_failure_is_refused_over_a_newer_uploads_record(dynamodb, table):
    before = given(dynamodb, table, status="COMPLETE", sequencer=NEWER)
    refuse(dynamodb, catalog_failure_write(table))
    assert record(dynamodb, table) == before
