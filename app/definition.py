"""The per-upload workflow. Every outcome ends in a recorded, explained state:

    Validate ──refused (typed error, recorded FAILED by the handler)──────────────> Rejected (fail)
       │      ──superseded by a newer upload (StaleEvent)──────────────────────────> Superseded (succeed)
       │      ──any other error, after retries──> RecordFailure (DynamoDB) ──────> Failed (fail)
       ▼
    ChooseRenderer ──route = lambda──> Render ──> finish (catalog insert, Done; see app/catalog.py)
       │                               (same catches as Validate)
       └──route = fargate──> HandToFargate (states:startExecution) ──> HandedToFargate (succeed)
                             the heavy-path workflow renders and records it (app/heavy.py)

Failures are recorded by a direct DynamoDB write (app/recording.py); if even that fails, the execution ends in
FailureNotRecorded.
"""

from collections.abc import Sequence

from app.recording import NOT_RECORDED, SUPERSEDED, fail_with, record_failed
from components.function import Function
from components.states import Catch, Choice, Definition, Fail, State, Succeed, When
from components.table import Table
from components.workflow import Workflow
from handlers.pipeline.contract import REFUSALS, ROUTE_LAMBDA, STALE_EVENT

RETRY_ALSO = ("IdempotencyAlreadyInProgressError",)
"""A duplicate delivery running at the same moment: wait for the first to finish, then answer from its result."""
HEAVY_EXECUTION_NAME = "States.Format('{}-{}', $.detail.object.sequencer, $.id)"
"""One heavy-path execution per upload event: a repeated hand-over is refused by name, not run twice."""
ALREADY_HANDED_OVER = ("StepFunctions.ExecutionAlreadyExistsException",)


def upload_definition(
    validator: Function, renderer: Function, images: Table, heavy: Workflow, finish: Sequence[State]
) -> Definition:
    catches = [
        Catch(next="Rejected", errors=REFUSALS),
        Catch(next=SUPERSEDED, errors=(STALE_EVENT,)),
        Catch(next="RecordFailure"),
    ]
    return Definition(
        comment="Validate an uploaded image, render it, and record every outcome in the images table",
        start_at="Validate",
        states=[
            validator.invoke_task("Validate", next="ChooseRenderer", result_path="$.validation",
                          retry_also=RETRY_ALSO, catch=catches),
            Choice("ChooseRenderer", [When("$.validation.route", ROUTE_LAMBDA, "Render")], default="HandToFargate"),
            renderer.invoke_task("Render", next=finish[0].name, result_path="$.rendered", retry_also=RETRY_ALSO,
                          catch=catches),
            heavy.start_execution_task(
                "HandToFargate",
                execution_name=HEAVY_EXECUTION_NAME,
                next="HandedToFargate",
                catch=[Catch(next="HandedToFargate", errors=ALREADY_HANDED_OVER, result_path="$.handedOver"),
                       Catch(next="RecordFailure")],
                comment="Express workflows cannot wait for a task: the STANDARD heavy-path workflow does",
            ),
            record_failed("RecordFailure", images, then="ReportFailure", error={"S.$": "$.error.Error"},
                          cause={"S.$": "$.error.Cause"}),
            Fail("Rejected", error_path="$.error.Error", cause_path="$.error.Cause"),
            *fail_with("ReportFailure", "Failed", "$.error"),
            Fail(NOT_RECORDED, error=NOT_RECORDED, cause_path="$.recordError.Cause"),
            Succeed(SUPERSEDED),
            Succeed("HandedToFargate"),
            *finish,
        ],
    )  # fmt: skip
