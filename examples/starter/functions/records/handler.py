"""Records an uploaded document: the workflow's input is the S3 `Object Created` event."""

import os
from typing import Any

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    detail = event["detail"]
    item = {"documentKey": detail["object"]["key"], "bytes": detail["object"].get("size", 0)}
    TABLE.update_item(
        Key={"documentKey": item["documentKey"]},
        UpdateExpression="SET #bytes = :bytes",
        ExpressionAttributeNames={"#bytes": "bytes"},
        ExpressionAttributeValues={":bytes": item["bytes"]},
    )
    return item
