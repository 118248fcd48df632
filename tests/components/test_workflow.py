"""Workflow: logging, tracing, a role derived from its tasks, and type checks before anything is declared."""

import json

import pytest

from components.function import Function, FunctionArgs
from components.profile import EnvironmentProfile, WorkflowSettings, WorkflowType
from components.states import Catch, Definition, DefinitionError, IntegrationPattern, Succeed, Task
from components.table import Table, TableArgs
from components.workflow import Workflow, WorkflowArgs
from synth.program import SynthesisError
from tests.helpers import DISPOSABLE, run, statements, tiny_code

MACHINE_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:image-pipeline-unit-flow"


def build_flow(tmp_path, profile=DISPOSABLE, workflow_type=None):
    def build():
        function = Function("work", FunctionArgs(profile, tiny_code(tmp_path), "app.main.handler"))
        table = Table("records", TableArgs(profile, "pk", {"pk": "S"}))
        definition = Definition(
            start_at="Work",
            states=[
                function.invoke_task("Work", next="Done", catch=[Catch(next="Record")]),
                table.update_item_task(
                    "Record",
                    key={"pk": {"S.$": "$.id"}},
                    update_expression="SET #s = :failed",
                    attribute_names={"#s": "status"},
                    attribute_values={":failed": {"S": "FAILED"}},
                    next="Done",
                ),
                Succeed("Done"),
            ],
        )
        Workflow("flow", WorkflowArgs(profile, definition, type=workflow_type))

    return run(build)


def test_logs_everything_to_its_own_group_and_traces(tmp_path):
    synthesis = build_flow(tmp_path)
    machine = synthesis.one("aws:sfn/stateMachine:StateMachine")
    group = synthesis.one("aws:cloudwatch/logGroup:LogGroup", "flow-logs")
    assert group.inputs["name"] == "/aws/vendedlogs/states/image-pipeline-unit-flow"
    assert group.inputs["retentionInDays"] == 7
    assert machine.inputs["loggingConfiguration"] == {
        "level": "ALL",
        "includeExecutionData": True,
        "logDestination": f"{group.outputs['arn']}:*",
    }
    assert machine.inputs["tracingConfiguration"] == {"enabled": True}
    assert machine.inputs["type"] == "EXPRESS"


def test_type_follows_the_profile_or_the_argument(tmp_path):
    standard = EnvironmentProfile(workflow=WorkflowSettings(type=WorkflowType.STANDARD))
    assert build_flow(tmp_path, standard).one("aws:sfn/stateMachine:StateMachine").inputs["type"] == "STANDARD"
    chosen = build_flow(tmp_path, workflow_type=WorkflowType.STANDARD)
    assert chosen.one("aws:sfn/stateMachine:StateMachine").inputs["type"] == "STANDARD"


def test_definition_is_json_with_the_real_resource_arns(tmp_path):
    synthesis = build_flow(tmp_path)
    definition = json.loads(synthesis.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])
    function_arn = synthesis.one("aws:lambda/function:Function").outputs["arn"]
    assert definition["States"]["Work"]["Resource"] == function_arn
    assert "Parameters" not in definition["States"]["Work"], "the whole state is the payload"
    assert definition["States"]["Record"]["Parameters"]["TableName"] == "image-pipeline-unit-records"
    assert definition["States"]["Work"]["Retry"][0]["ErrorEquals"][0] == "Lambda.ServiceException"


def test_role_is_derived_from_the_tasks_and_nothing_else(tmp_path):
    synthesis = build_flow(tmp_path)
    policy = synthesis.one("aws:iam/rolePolicy:RolePolicy", "flow-tasks")
    function_arn = synthesis.one("aws:lambda/function:Function").outputs["arn"]
    table_arn = synthesis.one("aws:dynamodb/table:Table").outputs["arn"]
    found = {s["Sid"]: (s["Action"], s["Resource"]) for s in statements(policy)}
    assert found["Invoke"] == (["lambda:InvokeFunction"], [function_arn, f"{function_arn}:*"])
    assert found["Table"] == (["dynamodb:UpdateItem"], [table_arn])
    assert set(found) == {"Invoke", "Table", "LogDeliveryHasNoResourceScope", "XRayHasNoResourceScope"}
    machine = synthesis.one("aws:sfn/stateMachine:StateMachine")
    assert policy.urn in machine.dependencies


def test_role_trusts_step_functions_for_exactly_this_state_machine(tmp_path):
    (trust,) = statements(build_flow(tmp_path).one("aws:iam/role:Role", "flow-role"), "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"] == {
        "ArnLike": {"aws:SourceArn": MACHINE_ARN},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    }


def test_express_with_a_sync_task_fails_before_anything_is_declared():
    definition = Definition(
        start_at="Run",
        states=[
            Task("Run", "arn:aws:states:::ecs:runTask.sync", {}, statements=[], integration=IntegrationPattern.RUN_JOB),
        ],
    )
    with pytest.raises(SynthesisError, match="EXPRESS workflows support only request-response") as raised:
        run(lambda: Workflow("flow", WorkflowArgs(DISPOSABLE, definition)))
    assert isinstance(raised.value.__cause__, DefinitionError)
    assert raised.value.declared == []


def test_start_execution_grant_is_exactly_this_state_machine(tmp_path):
    def build():
        function = Function("work", FunctionArgs(DISPOSABLE, tiny_code(tmp_path), "app.main.handler"))
        definition = Definition(start_at="Work", states=[function.invoke_task("Work")])
        flow = Workflow("flow", WorkflowArgs(DISPOSABLE, definition))
        flow.grant_start_execution(function)

    (policy,) = [p for p in run(build).of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "work-start-flow"]
    assert statements(policy) == [
        {"Sid": "StartExecution", "Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [MACHINE_ARN]}
    ]


def test_statements_repeated_by_several_states_are_merged_and_sids_stay_unique(tmp_path):
    def build():
        function = Function("work", FunctionArgs(DISPOSABLE, tiny_code(tmp_path), "app.main.handler"))
        table = Table("records", TableArgs(DISPOSABLE, "pk", {"pk": "S"}))
        other = Table("others", TableArgs(DISPOSABLE, "pk", {"pk": "S"}))

        def record(name, target, then=None):
            return target.update_item_task(name, key={"pk": {"S": "x"}}, update_expression="SET a = :a",
                                        attribute_values={":a": {"S": "b"}}, next=then)  # fmt: skip

        states = [function.invoke_task("First", next="Again"), function.invoke_task("Again", next="A"),
                  record("A", table, "B"), record("B", other)]  # fmt: skip
        Workflow("flow", WorkflowArgs(DISPOSABLE, Definition(start_at="First", states=states),
                                      type=WorkflowType.STANDARD))  # fmt: skip

    found = statements(run(build).one("aws:iam/rolePolicy:RolePolicy", "flow-tasks"))
    sids = [s["Sid"] for s in found]
    assert len(sids) == len(set(sids)), f"IAM refuses repeated Sids: {sids}"
    assert sids.count("Invoke") == 1, "the same function invoked twice needs one statement"
    assert {"Table", "Table2"} <= set(sids), "two tables: two statements, numbered"
