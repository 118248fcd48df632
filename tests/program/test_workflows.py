"""The two state machines of every stack, as the program declares them: valid, complete, and every outcome
recorded and explained."""

import json
import re

import pytest

from app.catalog import CATALOG_VALUES
from handlers.catalog.schema import INSERT_IMAGE_PARAMETERS
from offline.synth import Synthesis
from tests.helpers import statements

REFUSALS = ["UnsupportedFormat", "ImageTooLarge", "TooManyPixels", "CorruptImage", "ObjectNotFound"]


def states(program: Synthesis, name: str) -> dict:
    machine = program.one("aws:sfn/stateMachine:StateMachine", f"{name}-state-machine")
    return json.loads(machine.inputs["definition"])["States"]


@pytest.mark.parametrize("machine", ["process-upload", "heavy-path"])
def test_every_task_names_a_resource_of_the_program(program, machine):
    function_arns = {f.outputs["arn"] for f in program.of_type("aws:lambda/function:Function")}
    by_resource = {
        "arn:aws:states:::dynamodb:updateItem": lambda p: p["TableName"] == program.outputs["imagesTable"],
        "arn:aws:states:::states:startExecution": lambda p: (
            p["StateMachineArn"] == program.outputs["heavyPathStateMachineArn"]
        ),
        "arn:aws:states:::ecs:runTask.sync": lambda p: (
            p["TaskDefinition"] == program.one("aws:ecs/taskDefinition:TaskDefinition").outputs["arn"]
        ),
        "arn:aws:states:::aws-sdk:rdsdata:executeStatement": lambda p: (
            p["ResourceArn"] == program.outputs["catalogClusterArn"]
        ),
    }
    tasks = {name: state for name, state in states(program, machine).items() if state["Type"] == "Task"}
    assert tasks
    for name, state in tasks.items():
        if state["Resource"].startswith("arn:aws:lambda:"):
            assert state["Resource"] in function_arns, name
        else:
            assert by_resource[state["Resource"]](state.get("Parameters", {})), name


def test_the_upload_workflow_routes_and_records_every_outcome(program):
    upload = states(program, "process-upload")
    for name in ("Validate", "Render"):
        assert upload[name]["Catch"] == [
            {"ErrorEquals": REFUSALS, "Next": "Rejected", "ResultPath": "$.error"},
            {"ErrorEquals": ["StaleEvent"], "Next": "Superseded", "ResultPath": "$.error"},
            {"ErrorEquals": ["States.ALL"], "Next": "RecordFailure", "ResultPath": "$.error"},
        ]
    assert upload["ChooseRenderer"] == {
        "Type": "Choice",
        "Choices": [{"Variable": "$.validation.route", "StringEquals": "lambda", "Next": "Render"}],
        "Default": "HandToFargate",
    }
    assert upload["Render"]["Next"] == "Catalog"
    hand_over = upload["HandToFargate"]
    assert hand_over["Parameters"]["Name.$"] == "States.Format('{}-{}', $.detail.object.sequencer, $.id)"
    assert hand_over["Catch"][0]["ErrorEquals"] == ["StepFunctions.ExecutionAlreadyExistsException"]
    terminal = {name for name, state in upload.items() if state["Type"] in ("Fail", "Succeed")}
    assert terminal == {"Rejected", "Failed", "FailureNotRecorded", "Superseded", "HandedToFargate", "CatalogFailed",
                        "Done"}  # fmt: skip


def test_recorded_failures_never_overwrite_a_newer_upload(program):
    for machine in ("process-upload", "heavy-path"):
        for name, state in states(program, machine).items():
            if state.get("Resource") == "arn:aws:states:::dynamodb:updateItem":
                parameters = state["Parameters"]
                assert parameters["ConditionExpression"] == "attribute_not_exists(objectKey) OR rawSequencer = :raw"
                assert parameters["ExpressionAttributeValues"][":raw"] == {"S.$": "$.detail.object.sequencer"}, name
                assert state["Catch"][-1]["Next"] == "FailureNotRecorded", name


def test_the_heavy_path_runs_the_worker_and_explains_its_exit(program):
    heavy = states(program, "heavy-path")
    run = heavy["RunWorker"]
    assert run["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    assert run["Parameters"]["Overrides"]["ContainerOverrides"] == [
        {"Name": "worker", "Environment": [{"Name": "WORK_ITEM", "Value.$": "States.JsonToString($)"}]}
    ]
    assert [catch["Next"] for catch in run["Catch"]] == ["RecordFailure", "ReadStop", "RecordFailure"]
    assert heavy["ChooseOutcome"]["Choices"] == [
        {"Variable": "$.stopped.cause.Containers[0].ExitCode", "NumericEquals": 2, "Next": "Rejected"},
        {"Variable": "$.stopped.cause.Containers[0].ExitCode", "NumericEquals": 3, "Next": "Superseded"},
    ]
    assert heavy["ChooseOutcome"]["Default"] == "RecordWorkerFailure"
    assert program.one("aws:sfn/stateMachine:StateMachine", "heavy-path-state-machine").inputs["type"] == "STANDARD"


def test_the_heavy_path_role_has_exactly_what_sync_needs(program):
    found = {s["Sid"]: s for s in statements(program.one("aws:iam/rolePolicy:RolePolicy", "heavy-path-tasks"))}
    sync = {"RunTask", "WatchTasks", "PassTaskRoles", "SyncRule"}
    recording = {"Table", "KmsEncrypt"}
    catalog = {"DataApi", "ReadDatabaseSecret", "DecryptDatabaseSecret"}
    services = {"LogDeliveryHasNoResourceScope", "XRayHasNoResourceScope"}
    assert sync | {"Table", "DataApi", "ReadDatabaseSecret"} <= set(found)
    assert set(found) <= sync | recording | catalog | services, "nothing beyond running the task and recording it"
    assert found["PassTaskRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_the_upload_workflow_may_start_exactly_the_heavy_path(program):
    found = {s["Sid"]: s for s in statements(program.one("aws:iam/rolePolicy:RolePolicy", "process-upload-tasks"))}
    assert found["StartExecution"]["Resource"] == [program.outputs["heavyPathStateMachineArn"]]
    assert not {"RunTask", "PassTaskRoles"} & set(found), "only the heavy path runs the task"


def test_the_catalog_insert_sends_every_parameter_the_sql_names(program):
    catalog = states(program, "process-upload")["Catalog"]
    assert catalog["Resource"] == "arn:aws:states:::aws-sdk:rdsdata:executeStatement"
    assert [p["Name"] for p in catalog["Parameters"]["Parameters"]] == list(INSERT_IMAGE_PARAMETERS)
    assert tuple(CATALOG_VALUES) == INSERT_IMAGE_PARAMETERS
    assert catalog["Retry"][0]["ErrorEquals"] == ["RdsData.DatabaseResumingException"]
    assert catalog["Catch"][0]["Next"] == "RecordCatalogFailure"


DYNAMODB_RESERVED = {"CATALOG", "STATUS", "ERROR", "CAUSE", "BUCKET", "NAME", "DATA", "KEY", "SIZE", "TIMESTAMP",
                     "ROUTE", "FORMAT", "VERSION"}  # fmt: skip
"""A few of DynamoDB's ~570 reserved words that this pipeline's attribute names could collide with."""


def test_update_expressions_use_placeholders_for_reserved_words(program):
    for machine in ("process-upload", "heavy-path"):
        for name, state in states(program, machine).items():
            expression = state.get("Parameters", {}).get("UpdateExpression")
            if expression:
                bare = {word for word in re.findall(r"(?<![#:])\b([A-Za-z]\w*)\s*=", expression)}
                assert not {word.upper() for word in bare} & DYNAMODB_RESERVED, f"{machine}.{name}: {expression}"
