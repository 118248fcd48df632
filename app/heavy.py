"""The heavy path: a STANDARD workflow that renders one upload in the Fargate task, for images whose decode does
not fit the Lambda. Express workflows cannot wait for a task (`.sync`), so the per-upload workflow hands the
upload over (states:startExecution) and this one runs the task to completion and records the outcome.

    RunWorker (ecs:runTask.sync, the upload as WORK_ITEM) ──exit 0──> finish (catalog insert, Done)
        │ ECS API errors (after retries) ─────────────────────────> RecordFailure ──> Failed
        │ the task stopped with an error ──> ReadStop ──> ChooseOutcome
        │                                                  exit 2 ──> Rejected (the worker recorded FAILED)
        │                                                  exit 3 ──> Superseded (a newer upload owns the record)
        │                                                  else ────> RecordWorkerFailure ──> Failed
"""

from collections.abc import Sequence

from app.recording import NOT_RECORDED, record_failed
from components.fargate import TRANSIENT_ERRORS as ECS_ERRORS
from components.fargate import FargateTask
from components.states import Catch, Choice, Definition, Fail, Pass, State, Succeed, When
from components.table import Table

EXIT_REFUSED = 2
EXIT_SUPERSEDED = 3
"""The worker's exit-code contract (handlers/worker/main.py)."""
STOP = "$.stopped.cause"
"""The stopped task as ECS described it (PascalCase, as Step Functions returns it)."""
WORKER_CAUSE = {
    "S.$": f"States.Format('the worker stopped: {{}} (exit code {{}})', {STOP}.StoppedReason, "
    f"{STOP}.Containers[0].ExitCode)"
}


def heavy_definition(worker: FargateTask, images: Table, finish: Sequence[State]) -> Definition:
    """`finish`: the states that follow a successful render, starting with the one to go to (see app/catalog.py)."""
    return Definition(
        comment="Render one upload in the Fargate task and record the outcome",
        start_at="RunWorker",
        states=[
            worker.run_task(
                "RunWorker",
                environment={"WORK_ITEM.$": "States.JsonToString($)"},
                result_path=None,
                next=finish[0].name,
                catch=[
                    Catch(
                        next="RecordFailure",
                        errors=(*ECS_ERRORS, "ECS.AccessDeniedException", "ECS.InvalidParameterException"),
                    ),
                    Catch(next="ReadStop", errors=("States.TaskFailed",)),
                    Catch(next="RecordFailure"),
                ],
                comment="The worker streams the upload to its scratch volume, renders it and records COMPLETE",
            ),
            Pass(
                "ReadStop",
                parameters={"cause.$": "States.StringToJson($.error.Cause)"},
                result_path="$.stopped",
                next="ChooseOutcome",
            ),
            Choice(
                "ChooseOutcome",
                [
                    When(f"{STOP}.Containers[0].ExitCode", EXIT_REFUSED, "Rejected"),
                    When(f"{STOP}.Containers[0].ExitCode", EXIT_SUPERSEDED, "Superseded"),
                ],
                default="RecordWorkerFailure",
            ),
            record_failed(
                "RecordWorkerFailure", images, then="Failed", error={"S": "WorkerFailed"}, cause=WORKER_CAUSE
            ),
            record_failed(
                "RecordFailure", images, then="Failed", error={"S.$": "$.error.Error"}, cause={"S.$": "$.error.Cause"}
            ),
            Fail("Rejected", error="Rejected", cause="the worker refused the image and recorded why"),
            Fail("Failed", error_path="$.error.Error", cause_path="$.error.Cause"),
            Fail(NOT_RECORDED, error=NOT_RECORDED, cause_path="$.recordError.Cause"),
            Succeed("Superseded"),
            *finish,
        ],
    )
