"""The per-upload workflow. One Lambda task validates the upload and, when it fits the Lambda, renders it in the same
invocation (one download, one idempotency record: handlers/pipeline/process.py). Every outcome ends in a recorded,
explained state:

    Process ──refused (typed error, recorded FAILED by the handler)───────────────> Rejected (fail)
       │     ──superseded by a newer upload (StaleEvent)───────────────────────────> Superseded (succeed)
       │     ──any other error, after retries──> RecordFailure (DynamoDB) ───────> Failed (fail)
       ▼
    ChooseRoute ──route = lambda (rendered by Process)──> finish (catalog insert, Done; see app/catalog.py)
       │
       └──route = fargate (validated only)──> HandToFargate (states:startExecution) ──> HandedToFargate (succeed)
                                              the heavy-path workflow renders and records it (app/heavy.py)

Failures are recorded by a direct DynamoDB write (app/recording.py); if even that fails, the execution ends in
FailureNotRecorded.
"""

from collections.abc import Sequence

from app.catalog import VALIDATION
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


def upload_definition(processor: Function, images: Table, heavy: Workflow, finish: Sequence[State]) -> Definition:
    """`processor`: the Lambda running `pipeline.process.handler`; `finish`: the states after a rendered upload,
    starting with the one to go to (see app/catalog.py)."""
    return Definition(
        comment="Validate an uploaded image, render it, and record every outcome in the images table",
        start_at="Process",
        states=[
            processor.invoke_task(
                "Process",
                next="ChooseRoute",
                result_path=VALIDATION,  # app/catalog.py reads it; the render's result is at `rendered` in it
                retry_also=RETRY_ALSO,
                catch=[
                    Catch(next="Rejected", errors=REFUSALS),
                    Catch(next=SUPERSEDED, errors=(STALE_EVENT,)),
                    Catch(next="RecordFailure"),
                ],
            ),
            Choice("ChooseRoute", [When(f"{VALIDATION}.route", ROUTE_LAMBDA, finish[0].name)], default="HandToFargate"),
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
