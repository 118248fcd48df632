"""The two state machines of every stack, as the program declares them: valid, complete, and every outcome
recorded and explained."""

import json
import re

import pytest

from app.catalog import CATALOG_VALUES
from app.recording import FAILABLE_BY_THIS_UPLOAD, OWNED_BY_THIS_UPLOAD
from app.settings import load_settings
from components.budget import EXPRESS_LIMIT_SECONDS, worst_case
from components.database import ServerlessDatabase, ServerlessDatabaseArgs
from components.profile import EnvironmentProfile, load_profile
from components.states import Definition
from components.workflow import Workflow, WorkflowArgs
from handlers.catalog.schema import CATALOG_WRITER, INSERT_IMAGE_PARAMETERS, INSERT_IMAGE_SQL
from synth.program import Synthesis, stack_config
from tests.helpers import DISPOSABLE, run, statements

REFUSALS = ["UnsupportedFormat", "ImageTooLarge", "TooManyPixels", "CorruptImage", "ObjectNotFound"]


def profile_of(program: Synthesis) -> EnvironmentProfile:
    return load_profile(stack_config(program.stack))


def states(program: Synthesis, name: str) -> dict:
    machine = program.one("aws:sfn/stateMachine:StateMachine", f"{name}-state-machine")
    return json.loads(machine.inputs["definition"])["States"]


def test_the_program_declares_its_two_state_machines(program):
    """tests/policy/test_asl.py validates the definitions of whatever state machines a program declares: these."""
    machines = {machine.name for machine in program.of_type("aws:sfn/stateMachine:StateMachine")}
    assert machines == {"process-upload-state-machine", "heavy-path-state-machine"}


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
    process = upload["Process"]
    assert process["Resource"] == program.one("aws:lambda/function:Function", "process-function").outputs["arn"]
    assert process["ResultPath"] == "$.validation", "app/catalog.py reads the validation there"
    assert process["Catch"] == [
        {"ErrorEquals": REFUSALS, "Next": "Rejected", "ResultPath": "$.error"},
        {"ErrorEquals": ["StaleEvent"], "Next": "Superseded", "ResultPath": "$.error"},
        {"ErrorEquals": ["States.ALL"], "Next": "RecordFailure", "ResultPath": "$.error"},
    ]
    assert "IdempotencyAlreadyInProgressError" in process["Retry"][0]["ErrorEquals"], "a duplicate waits, then replays"
    assert upload["ChooseRoute"] == {
        "Type": "Choice",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.validation.route", "IsPresent": True},
                    {"Variable": "$.validation.route", "StringEquals": "lambda"},
                ],
                "Next": "Catalog",
            }
        ],
        "Default": "HandToFargate",
    }, "the Lambda route was rendered by Process: straight on to the catalog"
    lambda_tasks = [name for name, state in upload.items() if state.get("Resource", "").startswith("arn:aws:lambda:")]
    assert lambda_tasks == ["Process"], "one Lambda invocation per image"
    hand_over = upload["HandToFargate"]
    assert hand_over["Parameters"]["Name.$"] == "States.Format('{}-{}', $.detail.object.sequencer, $.id)"
    assert hand_over["Catch"][0]["ErrorEquals"] == ["StepFunctions.ExecutionAlreadyExistsException"]
    terminal = {name for name, state in upload.items() if state["Type"] in ("Fail", "Succeed")}
    assert terminal == {"Rejected", "Failed", "FailedInWorkflow", "FailureNotRecorded", "Superseded",
                        "HandedToFargate", "CatalogFailed", "CatalogFailedInWorkflow", "Done"}  # fmt: skip
    assert upload["FailedInWorkflow"]["Error"] == "WorkflowError", "a Fail state may not report a States.* name"


def test_recorded_failures_never_overwrite_a_newer_upload_nor_a_completed_one(program):
    """Every write of `status` (FAILED) also spares this upload's COMPLETE; the catalog mark, which is made on a
    COMPLETE record, only checks ownership. tests/program/test_recording.py runs both conditions against DynamoDB."""
    for machine in ("process-upload", "heavy-path"):
        for name, state in states(program, machine).items():
            if state.get("Resource") == "arn:aws:states:::dynamodb:updateItem":
                parameters = state["Parameters"]
                values = parameters["ExpressionAttributeValues"]
                if "#status" in parameters["UpdateExpression"]:
                    assert parameters["ConditionExpression"] == FAILABLE_BY_THIS_UPLOAD, f"{machine}.{name}"
                    assert values[":complete"] == {"S": "COMPLETE"}, f"{machine}.{name}"
                    refused = state["Catch"][0]
                    assert (refused["ErrorEquals"], refused["Next"]) == (
                        ["DynamoDB.ConditionalCheckFailedException"], "Superseded"), f"{machine}.{name}"  # fmt: skip
                else:
                    assert parameters["ConditionExpression"] == OWNED_BY_THIS_UPLOAD, f"{machine}.{name}"
                assert values[":raw"] == {"S.$": "$.detail.object.sequencer"}, f"{machine}.{name}"
                assert state["Catch"][-1]["Next"] == "FailureNotRecorded", f"{machine}.{name}"


def test_the_heavy_path_runs_the_worker_and_explains_its_exit(program):
    heavy = states(program, "heavy-path")
    run = heavy["RunWorker"]
    assert run["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    assert run["Parameters"]["Overrides"]["ContainerOverrides"] == [
        {"Name": "worker", "Environment": [
            {"Name": "UPLOAD_BUCKET", "Value.$": "$.detail.bucket.name"},
            {"Name": "UPLOAD_OBJECT", "Value.$": "States.JsonToString($.detail.object)"},
            {"Name": "EVENT_ID", "Value.$": "$.id"},
        ]}
    ], "references only: ECS refuses overrides over 8192 characters, and the workflow state holds the EXIF"  # fmt: skip
    assert run["TimeoutSeconds"] == profile_of(program).fargate.timeout_seconds
    assert "AmazonECS.Unknown" in run["Retry"][0]["ErrorEquals"], "a RunTask answer with failures is retried"
    assert [(c["ErrorEquals"], c["Next"]) for c in run["Catch"]] == [
        (["States.Timeout"], "RecordTimeout"), (["States.TaskFailed"], "InspectStop"), (["States.ALL"], "RecordFailure")
    ]  # fmt: skip
    assert heavy["InspectStop"]["Default"] == "RecordFailure", "a cause that is no task description is not parsed"
    outcomes = [(rule["Next"], rule["And"][0] if "And" in rule else rule) for rule in heavy["ChooseOutcome"]["Choices"]]
    assert [(target, guard["Variable"], guard["IsPresent"]) for target, guard in outcomes] == [
        ("Rejected", "$.stopped.cause.Containers[0].ExitCode", True),
        ("Superseded", "$.stopped.cause.Containers[0].ExitCode", True),
        ("RecordWorkerFailure", "$.stopped.cause.Containers[0].ExitCode", True),
        ("RecordNotStarted", "$.stopped.cause.StoppedReason", True),
    ], "every field is tested for presence before it is read"
    assert heavy["ChooseOutcome"]["Default"] == "RecordFailure"
    machine = program.one("aws:sfn/stateMachine:StateMachine", "heavy-path-state-machine").inputs
    assert machine["type"] == "STANDARD"
    assert json.loads(machine["definition"])["TimeoutSeconds"] >= run["TimeoutSeconds"], "the execution is bounded"


def test_every_task_of_every_workflow_has_a_timeout_and_express_fits_five_minutes(program):
    for machine in program.of_type("aws:sfn/stateMachine:StateMachine"):
        definition = json.loads(machine.inputs["definition"])
        untimed = [name for name, state in definition["States"].items()
                   if state["Type"] == "Task" and not state.get("TimeoutSeconds")]  # fmt: skip
        assert untimed == [], machine.urn
        if machine.inputs["type"] == "EXPRESS":
            assert worst_case(definition).seconds <= EXPRESS_LIMIT_SECONDS, (machine.urn, worst_case(definition))


def test_the_heavy_path_role_has_exactly_what_sync_needs(program):
    found = {s["Sid"]: s for s in statements(program.one("aws:iam/rolePolicy:RolePolicy", "heavy-path-tasks"))}
    sync = {"RunTask", "TagTasksAtLaunch", "WatchTasks", "PassTaskRoles", "SyncRule"}
    recording = {"Table", "KmsDecrypt"}
    catalog = {"DataApi", "ReadDatabaseSecret", "DecryptDatabaseSecret"}
    services = {"LogDeliveryHasNoResourceScope", "XRayHasNoResourceScope"}
    assert sync | {"Table", "DataApi", "ReadDatabaseSecret"} <= set(found)
    assert set(found) <= sync | recording | catalog | services, "nothing beyond running the task and recording it"
    assert found["PassTaskRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_the_upload_workflow_may_start_exactly_the_heavy_path(program):
    found = {s["Sid"]: s for s in statements(program.one("aws:iam/rolePolicy:RolePolicy", "process-upload-tasks"))}
    assert found["StartExecution"]["Resource"] == [program.outputs["heavyPathStateMachineArn"]]
    assert not {"RunTask", "PassTaskRoles"} & set(found), "only the heavy path runs the task"


@pytest.mark.parametrize("machine", ["process-upload", "heavy-path"])
def test_each_workflow_writes_the_catalog_as_its_writer_login_with_one_statement_at_a_time(program, machine):
    """ExecuteStatement on the cluster and GetSecretValue on the writer's secret (and kms:Decrypt of its key):
    no other Data API action, and never the master user's secret."""
    if not load_settings(stack_config(program.stack)).catalog:
        pytest.skip("this stack keeps no catalog")
    policy = program.one("aws:iam/rolePolicy:RolePolicy", f"{machine}-tasks")
    found = statements(policy)
    cluster = program.one("aws:rds/cluster:Cluster")
    writer = program.one("aws:secretsmanager/secret:Secret", "catalog-writer-secret").outputs["arn"]
    database = [s for s in found if any(a.startswith(("rds-data:", "secretsmanager:")) for a in s["Action"])]
    assert database == [
        {"Sid": "DataApi", "Effect": "Allow", "Action": ["rds-data:ExecuteStatement"],
         "Resource": [program.outputs["catalogClusterArn"]]},
        {"Sid": "ReadDatabaseSecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": [writer]},
    ], policy.urn  # fmt: skip
    decrypt = [s for s in found if s["Sid"] == "DecryptDatabaseSecret"]
    if profile_of(program).customer_managed_keys:
        key = program.one("aws:kms/key:Key").outputs["arn"]
        assert decrypt == [{"Sid": "DecryptDatabaseSecret", "Effect": "Allow", "Action": ["kms:Decrypt"],
                            "Resource": [key]}], policy.urn  # fmt: skip
    else:
        assert decrypt == [], f"{policy.urn}: the secret uses Secrets Manager's AWS-managed key"
    master = cluster.outputs["masterUserSecrets"][0]["secretArn"]
    assert master not in policy.inputs["policy"], f"{policy.urn}: a workflow never signs in as the master user"
    catalog = states(program, machine)["Catalog"]
    assert catalog["Parameters"]["SecretArn"] == writer


def test_the_catalog_insert_sends_every_parameter_the_sql_names(program):
    catalog = states(program, "process-upload")["Catalog"]
    assert catalog["Resource"] == "arn:aws:states:::aws-sdk:rdsdata:executeStatement"
    assert [p["Name"] for p in catalog["Parameters"]["Parameters"]] == list(INSERT_IMAGE_PARAMETERS)
    assert tuple(CATALOG_VALUES) == INSERT_IMAGE_PARAMETERS
    resumes = ["RdsData.DatabaseResumingException"] in [retrier["ErrorEquals"] for retrier in catalog["Retry"]]
    assert resumes == (profile_of(program).database.min_capacity == 0), "only a cluster that can pause is waited for"
    assert catalog["Catch"][0]["Next"] == "RecordCatalogFailure"


DYNAMODB_RESERVED = {"CATALOG", "STATUS", "ERROR", "CAUSE", "BUCKET", "NAME", "DATA", "KEY", "SIZE", "TIMESTAMP",
                     "ROUTE", "FORMAT", "VERSION"}  # fmt: skip
"""A few of DynamoDB's ~570 reserved words that this pipeline's attribute names could collide with."""


def bare_names(expression: str) -> set[str]:
    """Attribute names written without a `#` placeholder: before `=` or a comparison, or as a function's argument."""
    compared = re.findall(r"(?<![#:])\b([A-Za-z]\w*)\s*(?:=|<>|<|>)", expression)
    arguments = re.findall(r"\(\s*([A-Za-z]\w*)\s*[,)]", expression)
    return set(compared) | set(arguments)


def test_the_catalog_insert_fits_a_task_sending_its_declared_parameters():
    """The catalog's own SQL through a ServerlessDatabase's Data API task, which checks every `:name` it holds
    against the parameters sent (casts and ON CONFLICT included)."""
    parameters = [{"Name": name, "Value": {"StringValue.$": f"$.record.{name}"}} for name in INSERT_IMAGE_PARAMETERS]

    def build():
        database = ServerlessDatabase(
            "catalog",
            ServerlessDatabaseArgs(profile=DISPOSABLE.args, subnet_ids=["subnet-a", "subnet-b"], vpc_id="vpc-main"),
        )
        writer = database.database_user("writer", CATALOG_WRITER)
        definition = Definition(
            start_at="Catalog",
            states=[database.execute_statement_task("Catalog", INSERT_IMAGE_SQL, parameters, user=writer)],
        )
        Workflow("flow", WorkflowArgs(profile=DISPOSABLE.args, **definition.workflow_args(DISPOSABLE)))

    definition = run(build).one("aws:sfn/stateMachine:StateMachine").inputs["definition"]
    assert json.loads(definition)["States"]["Catalog"]["Parameters"]["Sql"] == INSERT_IMAGE_SQL


def test_update_and_condition_expressions_use_placeholders_for_reserved_words(program):
    for machine in ("process-upload", "heavy-path"):
        for name, state in states(program, machine).items():
            parameters = state.get("Parameters", {})
            for field in ("UpdateExpression", "ConditionExpression"):
                expression = parameters.get(field)
                if expression:
                    bare = {word.upper() for word in bare_names(expression)}
                    assert not bare & DYNAMODB_RESERVED, f"{machine}.{name}.{field}: {expression}"


def test_the_reserved_word_check_sees_bare_names_in_both_kinds_of_expression():
    assert bare_names("SET status = :failed, #error = :e") == {"status"}
    assert bare_names("attribute_not_exists(status) OR (rawSequencer = :raw AND status <> :complete)") == {
        "status", "rawSequencer"}  # fmt: skip
    assert bare_names(FAILABLE_BY_THIS_UPLOAD) == {"objectKey", "rawSequencer"}
