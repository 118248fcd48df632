"""The workflows' own failure write: a direct DynamoDB update (no Lambda), so a failure is recorded even when the
code that failed is broken, and only while the record belongs to this upload, never over a newer upload's result
nor over this upload's COMPLETE (see handlers/pipeline/records.py for the handlers' side of the same rule)."""

from components.states import Catch, Choice, Fail, Matches, State, Task
from components.table import Table
from handlers.pipeline.contract import (
    CAUSE,
    COMPLETE,
    COMPLETE_VALUE,
    ERROR,
    FAILED,
    OBJECT_KEY,
    OWNED,
    OWNED_NOT_COMPLETE,
    SEQUENCER_VALUE,
    STATUS,
    STATUS_NAME,
    UNCLAIMED,
    UPDATED_AT,
)

RECORD_KEY = {OBJECT_KEY: {"S.$": "$.detail.object.key"}}
"""The upload's record: the table's key is the object's key as the event delivered it."""
THIS_UPLOAD = {SEQUENCER_VALUE: {"S.$": "$.detail.object.sequencer"}}
"""The value the ownership conditions compare the record with: the sequencer of the execution's event."""
OWNED_BY_THIS_UPLOAD = f"{UNCLAIMED} OR {OWNED}"
"""Write only if no upload has claimed the record yet, or this one has. The catalog-failure mark uses it alone: it
belongs on the COMPLETE record of this upload. Needs THIS_UPLOAD."""
FAILABLE_BY_THIS_UPLOAD = f"{UNCLAIMED} OR ({OWNED_NOT_COMPLETE})"
"""Owned, and not COMPLETE: EventBridge delivers at least once, so two executions of one upload can run; when the
first completes and the second fails (e.g. IdempotencyAlreadyInProgressError after its retries), the second's
failure must not turn the image that was rendered into FAILED. Needs THIS_UPLOAD, STATUS_NAME and COMPLETE_VALUE."""
NOT_RECORDED = "FailureNotRecorded"
SUPERSEDED = "Superseded"
"""Where a workflow ends when the record belongs to a newer upload, or this upload is COMPLETE: nothing to record."""
RESERVED_ERRORS = "States.*"
WORKFLOW_ERROR = "WorkflowError"


def record_failed(name: str, images: Table, *, then: str, error: dict, cause: dict) -> Task:
    """Mark the upload FAILED with `error` and `cause` (DynamoDB typed values, JSONPath allowed), then go to `then`;
    refused (a newer upload owns the record, or this one completed it), the execution ends in Superseded; if the
    write itself fails, in FailureNotRecorded."""
    return images.update_item_task(
        name,
        key=RECORD_KEY,
        update_expression=f"SET {STATUS_NAME} = :failed, #error = :error, #cause = :cause, {UPDATED_AT} = :now",
        attribute_names={STATUS_NAME: STATUS, "#error": ERROR, "#cause": CAUSE},
        attribute_values={
            ":failed": {"S": FAILED},
            ":error": error,
            ":cause": cause,
            ":now": {"S.$": "$$.State.EnteredTime"},
            **THIS_UPLOAD,
            COMPLETE_VALUE: {"S": COMPLETE},
        },
        condition_expression=FAILABLE_BY_THIS_UPLOAD,
        next=then,
        catch=[
            # Refused: a newer upload owns the record, or a duplicate execution of this one completed it.
            Catch(next=SUPERSEDED, errors=("DynamoDB.ConditionalCheckFailedException",), result_path="$.recordError"),
            Catch(next=NOT_RECORDED, result_path="$.recordError"),
        ],
    )


def fail_with(name: str, then: str, error_at: str) -> list[State]:
    """End the execution in the Fail state `then`, with the error and cause a Catch put at `error_at`.

    Names starting with `States.` (States.Timeout, States.TaskFailed) are Step Functions' own, and the Amazon States
    Language forbids a Fail state to report one; such an error ends in `<then>InWorkflow` as WorkflowError, with its
    name leading the cause. `name` is the Choice that decides, the state to go to after recording the failure."""
    reserved = f"{then}InWorkflow"
    return [
        Choice(name, [Matches(f"{error_at}.Error", RESERVED_ERRORS, reserved)], default=then),
        Fail(then, error_path=f"{error_at}.Error", cause_path=f"{error_at}.Cause"),
        Fail(reserved, error=WORKFLOW_ERROR,
             cause_path=f"States.Format('{{}}: {{}}', {error_at}.Error, {error_at}.Cause)"),
    ]  # fmt: skip
