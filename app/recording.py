"""The workflows' own failure write: a direct DynamoDB update (no Lambda), so a failure is recorded even when the
code that failed is broken, and only while the record belongs to this upload, never over a newer upload's result
nor over this upload's COMPLETE (see handlers/pipeline/records.py for the handlers' side of the same rule)."""

from components.states import Catch, Choice, Fail, Matches, State, Task
from components.table import Table
from components.tasks import dynamodb_update_item

OBJECT_KEY = {"objectKey": {"S.$": "$.detail.object.key"}}
OWNED_BY_THIS_UPLOAD = "attribute_not_exists(objectKey) OR rawSequencer = :raw"
"""Write only if no upload has claimed the record yet, or this one has. The catalog-failure mark uses it alone: it
belongs on the COMPLETE record of this upload."""
FAILABLE_BY_THIS_UPLOAD = "attribute_not_exists(objectKey) OR (rawSequencer = :raw AND #status <> :complete)"
"""Owned, and not COMPLETE: EventBridge delivers at least once, so two executions of one upload can run; when the
first completes and the second fails (e.g. IdempotencyAlreadyInProgressError after its retries), the second's
failure must not turn the image that was rendered into FAILED. Needs `#status` and `:complete`."""
NOT_RECORDED = "FailureNotRecorded"
SUPERSEDED = "Superseded"
"""Where a workflow ends when the record belongs to a newer upload, or this upload is COMPLETE: nothing to record."""
RESERVED_ERRORS = "States.*"
WORKFLOW_ERROR = "WorkflowError"


def record_failed(name: str, images: Table, *, then: str, error: dict, cause: dict) -> Task:
    """Mark the upload FAILED with `error` and `cause` (DynamoDB typed values, JSONPath allowed), then go to `then`;
    refused (a newer upload owns the record, or this one completed it), the execution ends in Superseded; if the
    write itself fails, in FailureNotRecorded."""
    return dynamodb_update_item(
        name,
        images,
        key=OBJECT_KEY,
        update_expression="SET #status = :failed, #error = :error, #cause = :cause, updatedAt = :now",
        attribute_names={"#status": "status", "#error": "error", "#cause": "cause"},
        attribute_values={
            ":failed": {"S": "FAILED"},
            ":error": error,
            ":cause": cause,
            ":now": {"S.$": "$$.State.EnteredTime"},
            ":raw": {"S.$": "$.detail.object.sequencer"},
            ":complete": {"S": "COMPLETE"},
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
