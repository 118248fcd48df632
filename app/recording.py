"""The workflows' own failure write: a direct DynamoDB update (no Lambda), so a failure is recorded even when the
code that failed is broken, and only while the record belongs to this upload, never over a newer upload's result
(see handlers/pipeline/records.py for the handlers' side of the same rule)."""

from components.states import Catch, Task
from components.table import Table
from components.tasks import dynamodb_update_item

OBJECT_KEY = {"objectKey": {"S.$": "$.detail.object.key"}}
OWNED = "attribute_not_exists(objectKey) OR rawSequencer = :raw"
"""Write only if no upload has claimed the record yet, or this one has."""
NOT_RECORDED = "FailureNotRecorded"


def record_failed(name: str, images: Table, *, then: str, error: dict, cause: dict) -> Task:
    """Mark the upload FAILED with `error` and `cause` (DynamoDB typed values, JSONPath allowed), then go to `then`;
    if even this write fails, the execution ends in FailureNotRecorded."""
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
        },
        condition_expression=OWNED,
        next=then,
        catch=[Catch(next=NOT_RECORDED, result_path="$.recordError")],
    )
