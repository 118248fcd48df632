"""The image record's life: PROCESSING -> COMPLETE or FAILED, with conditional writes so order is kept.

One item per object key. An upload claims the item when its sequencer is newer than the one recorded (or equal and
not yet complete: a retry); every later write is conditional on still owning it (`contract.OWNED`: `rawSequencer`
equal), so an older event that arrives late, or a slow run overtaken by a newer upload, can never overwrite the
newer result.

COMPLETE is final for an upload: a failure write (`fail` here, the workflow's own direct DynamoDB task in
app/recording.py) also requires the record not to be COMPLETE, because EventBridge delivers at least once and a
duplicate execution of an upload that already completed can still fail (waiting on the first one's idempotency
lock, or on an object deleted since). And a completion clears what an earlier attempt's failure left behind.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from .contract import (
    CATALOG,
    CATALOG_ERROR,
    CAUSE,
    COMPLETE,
    COMPLETE_VALUE,
    ERROR,
    FAILED,
    NOT_COMPLETE,
    OBJECT_KEY,
    OWNED,
    OWNED_NOT_COMPLETE,
    PROCESSING,
    RAW_SEQUENCER,
    RENDITIONS,
    ROUTE,
    SEQUENCER_VALUE,
    STATUS,
    UNCLAIMED,
    UPDATED_AT,
)
from .errors import StaleEvent
from .objects import UploadEvent

EARLIER_OUTCOME = (ERROR, CAUSE, CATALOG, CATALOG_ERROR)
"""What an earlier attempt's failure leaves on the record: `error`/`cause` (this module's `fail` or the workflow's
failure write) and `catalog`/`catalogError` (the workflow's catalog-failure write). A retry of the same event can
skip the claim that would clear them (Powertools answers the validation from its idempotency store), so the
completion clears them itself: a COMPLETE record must not explain a failure that no longer holds."""
CLAIMABLE = f"{UNCLAIMED} OR #sequencer < :order OR (#sequencer = :order AND {NOT_COMPLETE})"
"""The claim's condition: no upload owns the record, an older one does, or this one does and has not completed it
(a retry). `sequencer` is the zero-padded form of RAW_SEQUENCER, which compares in S3's order."""

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class ImageRecords:
    def __init__(self, dynamodb: BaseClient, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._table = table_name

    def claim(self, upload: UploadEvent) -> None:
        """Mark PROCESSING for this upload, unless a newer upload (or this one, completed) owns the record."""
        self._update(
            upload,
            {
                STATUS: PROCESSING,
                "bucket": upload.bucket,
                "versionId": upload.version_id,
                "versionTag": upload.version_tag,
                "etag": upload.etag,
                RAW_SEQUENCER: upload.sequencer,
                "sequencer": upload.order,
                "eventTime": upload.event_time,
                "startedAt": _now(),
            },
            remove=(*EARLIER_OUTCOME, ROUTE, "routeReason"),
            condition=CLAIMABLE,
            condition_values={":order": upload.order, COMPLETE_VALUE: COMPLETE},
        )

    def route(self, upload: UploadEvent, metadata: dict[str, Any], route: str, reason: str) -> None:
        self._update_owned(upload, {"metadata": metadata, ROUTE: route, "routeReason": reason})

    def complete(self, upload: UploadEvent, renditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Mark COMPLETE with the renditions, clearing an earlier attempt's failure; returns the renditions the record
        listed before (to clean up)."""
        old = self._update_owned(
            upload,
            {STATUS: COMPLETE, RENDITIONS: renditions, "completedAt": _now()},
            remove=EARLIER_OUTCOME,
            return_old=True,
        )
        return old.get(RENDITIONS, [])

    def fail(self, upload: UploadEvent, error: str, cause: str) -> bool:
        """Mark FAILED with a human-readable cause; False, leaving the record untouched, when a newer upload owns it
        or another run of this upload completed it."""
        try:
            self._update(
                upload,
                {STATUS: FAILED, ERROR: error, CAUSE: cause},
                condition=OWNED_NOT_COMPLETE,
                condition_values={SEQUENCER_VALUE: upload.sequencer, COMPLETE_VALUE: COMPLETE},
            )
        except StaleEvent:
            return False
        return True

    def _update_owned(
        self,
        upload: UploadEvent,
        values: dict[str, Any],
        *,
        remove: tuple[str, ...] = (),
        return_old: bool = False,
    ) -> dict[str, Any]:
        return self._update(
            upload,
            values,
            condition=OWNED,
            condition_values={SEQUENCER_VALUE: upload.sequencer},
            remove=remove,
            return_old=return_old,
        )

    def _update(
        self,
        upload: UploadEvent,
        values: dict[str, Any],
        *,
        condition: str,
        condition_values: dict[str, Any],
        remove: tuple[str, ...] = (),
        return_old: bool = False,
    ) -> dict[str, Any]:
        present = {name: value for name, value in {**values, UPDATED_AT: _now()}.items() if value is not None}
        # `#<name>` for every attribute: several are DynamoDB reserved words (STATUS_NAME is `#status`).
        names = {f"#{name}": name for name in [*present, *remove, "sequencer", STATUS]}
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in present)
        if remove:
            expression += " REMOVE " + ", ".join(f"#{name}" for name in remove)
        attribute_values = {f":{name}": value for name, value in present.items()} | condition_values
        used_names = {key: value for key, value in names.items() if key in expression or key in condition}
        try:
            response = self._dynamodb.update_item(
                TableName=self._table,
                Key={OBJECT_KEY: {"S": upload.key}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=used_names,
                ExpressionAttributeValues={key: _serializer.serialize(_dynamo(value))
                                           for key, value in attribute_values.items()},
                ReturnValues="UPDATED_OLD" if return_old else "NONE",
            )  # fmt: skip
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleEvent(upload.key, upload.sequencer) from error
            raise
        attributes = response.get("Attributes", {})
        return {name: _deserializer.deserialize(value) for name, value in attributes.items()}


def _dynamo(value: Any) -> Any:
    """DynamoDB takes Decimal, not float: round-trip through JSON once instead of walking the structure."""
    if isinstance(value, dict | list | float):
        return json.loads(json.dumps(value), parse_float=Decimal)
    return value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
