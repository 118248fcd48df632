"""Step Functions task integrations, one function each, each declaring exactly the permissions it needs."""

from collections.abc import Mapping, Sequence
from typing import Any

from components.function import Function
from components.states import (
    DYNAMODB_TRANSIENT_ERRORS,
    LAMBDA_TRANSIENT_ERRORS,
    SERVICE_CALL_TIMEOUT_SECONDS,
    Catch,
    IntegrationPattern,
    Task,
    service_resource,
)
from components.table import Table


def lambda_invoke(
    name: str,
    function: Function,
    *,
    next: str | None = None,
    result_path: str | None = "$.result",
    retry_also: Sequence[str] = (),
    catch: Sequence[Catch] = (),
    comment: str = "",
) -> Task:
    """Invoke synchronously with the state as the payload; the result is the function's return value itself.

    The function's ARN as the resource (rather than `arn:aws:states:::lambda:invoke`) returns the payload without
    the invocation metadata around it, so later states read `$.result.field`, not `$.result.Payload.field`.
    `retry_also` adds errors of the function's own that are worth retrying (e.g. a concurrent duplicate). The state
    times out with the function, so the workflow's worst case follows from the function's own limit.
    """
    return Task(
        name=name,
        resource=function.arn,
        parameters=None,
        result_path=result_path,
        statements=function.invoke_statements(),
        transient_errors=(*LAMBDA_TRANSIENT_ERRORS, *retry_also),
        timeout_seconds=function.timeout_seconds,
        next=next,
        catch=catch,
        comment=comment,
    )


def dynamodb_update_item(
    name: str,
    table: Table,
    *,
    key: Mapping[str, Any],
    update_expression: str,
    attribute_values: Mapping[str, Any],
    attribute_names: Mapping[str, str] | None = None,
    condition_expression: str | None = None,
    next: str | None = None,
    result_path: str | None = None,
    catch: Sequence[Catch] = (),
    comment: str = "",
) -> Task:
    """A direct DynamoDB write: no Lambda in between, so recording an outcome cannot itself fail on a cold start."""
    parameters: dict[str, Any] = {
        "TableName": table.name,
        "Key": dict(key),
        "UpdateExpression": update_expression,
        "ExpressionAttributeValues": dict(attribute_values),
    }
    if attribute_names:
        parameters["ExpressionAttributeNames"] = dict(attribute_names)
    if condition_expression:
        parameters["ConditionExpression"] = condition_expression
    return Task(
        name=name,
        resource=service_resource("dynamodb", "updateItem", IntegrationPattern.REQUEST_RESPONSE),
        parameters=parameters,
        result_path=result_path,
        statements=table.statements(["dynamodb:UpdateItem"]),
        transient_errors=DYNAMODB_TRANSIENT_ERRORS,
        timeout_seconds=SERVICE_CALL_TIMEOUT_SECONDS,
        next=next,
        catch=catch,
        comment=comment,
    )
