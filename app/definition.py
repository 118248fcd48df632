"""The per-upload workflow. Every outcome ends in a recorded, explained state:

    Validate ──refused (typed error, recorded FAILED by the handler)──────────────> Rejected (fail)
       │      ──superseded by a newer upload (StaleEvent)──────────────────────────> Superseded (succeed)
       │      ──any other error, after retries──> RecordFailure (DynamoDB) ──────> Failed (fail)
       ▼
    ChooseRenderer ──route = lambda──> Render ──> Done
       │                               (same catches as Validate)
       └──route = fargate──> RecordNeedsFargate (DynamoDB) ──> NeedsFargate (fail)
                             (the heavy path arrives with the Fargate task)

RecordFailure and RecordNeedsFargate are direct DynamoDB writes (no Lambda), conditional on the record still
belonging to this upload, so a failure is recorded even when the code that failed is broken, and never over a
newer upload's result. If even that write fails, the execution ends in FailureNotRecorded.
"""

from components.function import Function
from components.states import Catch, Choice, Definition, Fail, Succeed, Task, When
from components.table import Table
from components.tasks import dynamodb_update_item, lambda_invoke

REFUSALS = ("UnsupportedFormat", "ImageTooLarge", "TooManyPixels", "CorruptImage", "ObjectNotFound")
"""Errors the handlers record themselves, with a human-readable reason, before raising them."""
SUPERSEDED = ("StaleEvent",)
RETRY_ALSO = ("IdempotencyAlreadyInProgressError",)
"""A duplicate delivery running at the same moment: wait for the first to finish, then answer from its result."""

OBJECT_KEY = {"objectKey": {"S.$": "$.detail.object.key"}}
OWNED = "attribute_not_exists(objectKey) OR rawSequencer = :raw"
"""Write only if no upload has claimed the record yet, or this one has (see handlers/pipeline/records.py)."""


def upload_definition(validator: Function, renderer: Function, images: Table) -> Definition:
    catches = [
        Catch(next="Rejected", errors=REFUSALS),
        Catch(next="Superseded", errors=SUPERSEDED),
        Catch(next="RecordFailure"),
    ]
    return Definition(
        comment="Validate an uploaded image, render it, and record every outcome in the images table",
        start_at="Validate",
        states=[
            lambda_invoke("Validate", validator, next="ChooseRenderer", result_path="$.validation",
                          retry_also=RETRY_ALSO, catch=catches),
            Choice("ChooseRenderer", [When("$.validation.route", "lambda", "Render")], default="RecordNeedsFargate"),
            lambda_invoke("Render", renderer, next="Done", result_path="$.rendered", retry_also=RETRY_ALSO,
                          catch=catches),
            _record_failed("RecordNeedsFargate", images, then="NeedsFargate", error={"S": "HeavyPathNotDeployed"},
                           cause={"S.$": "$.validation.routeReason"}),
            _record_failed("RecordFailure", images, then="Failed", error={"S.$": "$.error.Error"},
                           cause={"S.$": "$.error.Cause"}),
            Fail("Rejected", error_path="$.error.Error", cause_path="$.error.Cause"),
            Fail("Failed", error_path="$.error.Error", cause_path="$.error.Cause"),
            Fail("NeedsFargate", error="HeavyPathNotDeployed", cause_path="$.validation.routeReason"),
            Fail("FailureNotRecorded", error="FailureNotRecorded", cause_path="$.recordError.Cause"),
            Succeed("Superseded"),
            Succeed("Done"),
        ],
    )  # fmt: skip


def _record_failed(name: str, images: Table, *, then: str, error: dict, cause: dict) -> Task:
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
        catch=[Catch(next="FailureNotRecorded", result_path="$.recordError")],
    )
