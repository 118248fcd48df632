"""The heavy path: a STANDARD workflow that renders one upload in the Fargate task, for images whose decode does
not fit the Lambda. Express workflows cannot wait for a task (`.sync`), so the per-upload workflow hands the
upload over (states:startExecution) and this one runs the task to completion and records the outcome.

    RunWorker (ecs:runTask.sync, the upload's references) ──exit 0──> finish (catalog insert, Done)
        │ placement failures, ECS API errors: retried; then ──────────> RecordFailure ──> Failed
        │ ran longer than fargate.timeoutSeconds (the task is stopped) ──> RecordTimeout ──> Failed
        │ the task stopped with an error ──> InspectStop ──not a task description──> RecordFailure
        │                                        └──> ReadStop ──> ChooseOutcome
        │                                   exit 2 ──> Rejected (the worker recorded FAILED)
        │                                   exit 3 ──> Superseded (a newer upload owns the record)
        │                                   any other exit code ──> RecordWorkerFailure ──> Failed
        │                                   no exit code (the container never ran) ──> RecordNotStarted ──> Failed
        │                                   neither ──> RecordFailure

A task that never started has no exit code, and a RunTask answer with failures fails as `AmazonECS.Unknown` with a
cause that is no task description: a Choice that read a missing field, or States.StringToJson on such a cause,
would fail the execution with States.Runtime, which no Catch handles, and leave the record PROCESSING. Every field
is tested for presence first (components/states.py `Rule`), and the cause is parsed only when it is an object.
"""

from collections.abc import Sequence

from app.recording import NOT_RECORDED, SUPERSEDED, fail_with, record_failed
from components.fargate import FargateTask
from components.states import Catch, Choice, Definition, Fail, Matches, Pass, Present, State, Succeed, When
from components.table import Table
from handlers.pipeline.contract import (
    EVENT_ID_ENV,
    EXIT_REFUSED,
    EXIT_STALE,
    UPLOAD_BUCKET_ENV,
    UPLOAD_OBJECT_ENV,
)

UPLOAD_REFERENCES = {
    f"{UPLOAD_BUCKET_ENV}.$": "$.detail.bucket.name",
    f"{UPLOAD_OBJECT_ENV}.$": "States.JsonToString($.detail.object)",
    f"{EVENT_ID_ENV}.$": "$.id",
}
"""What the worker is told: which object, never the workflow state (see handlers/pipeline/contract.py)."""
STOP = "$.stopped.cause"
"""The stopped task as ECS described it (PascalCase, as Step Functions returns it)."""
EXIT_CODE = f"{STOP}.Containers[0].ExitCode"
STOPPED_REASON = f"{STOP}.StoppedReason"
ERROR_CAUSE = "$.error.Cause"


def heavy_definition(
    worker: FargateTask, images: Table, finish: Sequence[State], *, timeout_seconds: int
) -> Definition:
    """`finish`: the states that follow a successful render, starting with the one to go to (see app/catalog.py);
    `timeout_seconds`: how long the worker may take before the task is stopped and the image recorded FAILED."""
    return Definition(
        comment="Render one upload in the Fargate task and record the outcome",
        start_at="RunWorker",
        states=[
            worker.run_task(
                "RunWorker",
                environment=UPLOAD_REFERENCES,
                timeout_seconds=timeout_seconds,
                result_path=None,
                next=finish[0].name,
                catch=[
                    Catch(next="RecordTimeout", errors=("States.Timeout",)),
                    Catch(next="InspectStop", errors=("States.TaskFailed",)),
                    Catch(next="RecordFailure"),
                ],
                comment="The worker streams the upload to its scratch volume, renders it and records COMPLETE",
            ),
            Choice("InspectStop", [Matches(ERROR_CAUSE, "{*", "ReadStop")], default="RecordFailure"),
            Pass(
                "ReadStop",
                parameters={"cause.$": f"States.StringToJson({ERROR_CAUSE})"},
                result_path="$.stopped",
                next="ChooseOutcome",
            ),
            Choice(
                "ChooseOutcome",
                [
                    When(EXIT_CODE, EXIT_REFUSED, "Rejected"),
                    When(EXIT_CODE, EXIT_STALE, SUPERSEDED),
                    Present(EXIT_CODE, "RecordWorkerFailure"),
                    Present(STOPPED_REASON, "RecordNotStarted"),
                ],
                default="RecordFailure",
            ),
            record_failed(
                "RecordWorkerFailure",
                images,
                then="ReportFailure",
                error={"S": "WorkerFailed"},
                cause={
                    "S.$": f"States.Format('the worker exited with code {{}}; its log stream says why', {EXIT_CODE})"
                },
            ),
            record_failed(
                "RecordNotStarted",
                images,
                then="ReportFailure",
                error={"S": "WorkerNotStarted"},
                cause={"S.$": f"States.Format('the task stopped before its container ran: {{}}', {STOPPED_REASON})"},
            ),
            record_failed(
                "RecordTimeout",
                images,
                then="ReportFailure",
                error={"S": "WorkerTimedOut"},
                cause={
                    "S": f"the worker ran for longer than {timeout_seconds} s (fargate.timeoutSeconds); "
                    "Step Functions stopped the task"
                },
            ),
            record_failed(
                "RecordFailure",
                images,
                then="ReportFailure",
                error={"S.$": "$.error.Error"},
                cause={"S.$": ERROR_CAUSE},
            ),
            Fail("Rejected", error="Rejected", cause="the worker refused the image and recorded why"),
            *fail_with("ReportFailure", "Failed", "$.error"),
            Fail(NOT_RECORDED, error=NOT_RECORDED, cause_path="$.recordError.Cause"),
            Succeed(SUPERSEDED),
            *finish,
        ],
    )
