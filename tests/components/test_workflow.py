"""Workflow: logging, tracing, a role derived from its tasks, and type checks before anything is declared."""

import dataclasses
import gc
import json

import pulumi
import pytest

from components.function import Function, FunctionArgs
from components.naming import MAX_LENGTHS
from components.profile import (
    EnvironmentProfile,
    HistoryLevel,
    HistorySettings,
    TracingSettings,
    WorkflowSettings,
    WorkflowType,
)
from components.states import Catch, Definition, DefinitionError, IntegrationPattern, Succeed, Task
from components.table import Table, TableArgs
from components.workflow import XRAY_SERVICE_NAME_LIMIT, XRAY_SERVICE_TYPE, Workflow, WorkflowArgs
from synth.program import SynthesisError
from tests.helpers import DISPOSABLE, from_another_language, run, statements, tiny_code

MACHINE_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:image-pipeline-unit-flow"


def build_flow(tmp_path, profile=DISPOSABLE, workflow_type=None):
    def build():
        function = Function(
            "work", FunctionArgs(profile=profile.args, code=tiny_code(tmp_path), handler="app.main.handler")
        )
        table = Table("records", TableArgs(profile=profile.args, partition_key="pk", attributes={"pk": "S"}))
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
        args = WorkflowArgs(profile=profile.args, **definition.workflow_args(profile))
        if workflow_type:
            args["type"] = workflow_type
        Workflow("flow", args)

    return run(build)


def test_logs_everything_by_default_to_its_own_group_and_traces(tmp_path):
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


def test_execution_history_follows_the_profiles_level_and_data_setting(tmp_path):
    history = HistorySettings(level=HistoryLevel.ERROR, include_execution_data=False)
    errors_only = dataclasses.replace(DISPOSABLE, workflow=WorkflowSettings(history=history))
    synthesis = build_flow(tmp_path, errors_only)
    logging = synthesis.one("aws:sfn/stateMachine:StateMachine").inputs["loggingConfiguration"]
    group = synthesis.one("aws:cloudwatch/logGroup:LogGroup", "flow-logs")
    assert logging == {"level": "ERROR", "includeExecutionData": False, "logDestination": f"{group.outputs['arn']}:*"}


def test_execution_history_level_from_another_language_is_validated_by_name():
    profile = {**DISPOSABLE.args, "workflow": {"history": {"level": "FATAL"}}}
    with pytest.raises(SynthesisError, match=r"workflow\.history\.level: 'FATAL' is not allowed; expected one of ALL, "
                       "ERROR") as refused:  # fmt: skip
        run(lambda: Workflow("flow", WorkflowArgs(profile=profile, definition=SUCCEED)))
    assert refused.value.declared == []


def test_xray_samples_exactly_this_state_machine_at_the_profiles_rates(tmp_path):
    """The rule matches the name and origin of the state machine's segments, not every service of the account."""
    sampled = dataclasses.replace(DISPOSABLE, workflow=WorkflowSettings(tracing=TracingSettings(0, 0.1)))
    synthesis = build_flow(tmp_path, sampled)
    rule = synthesis.one("aws:xray/samplingRule:SamplingRule", "flow-sampling").inputs
    machine = synthesis.one("aws:sfn/stateMachine:StateMachine").inputs
    assert (rule["serviceName"], rule["serviceType"]) == (machine["name"], XRAY_SERVICE_TYPE)
    assert (rule["reservoirSize"], rule["fixedRate"]) == (0, 0.1)
    assert rule["ruleName"] == machine["name"], "a name that fits is kept whole"
    default = build_flow(tmp_path).one("aws:xray/samplingRule:SamplingRule").inputs
    assert (default["reservoirSize"], default["fixedRate"]) == (1, 0.05), "X-Ray's own default rule's rates"


def test_a_sampling_rule_name_is_capped_and_stays_unique(tmp_path):
    """X-Ray allows 32 characters for a rule's name, fewer than a state machine's: a longer name keeps its start and
    a hash of the whole, so two long names with one start get two rules."""

    def build():
        for name in ("processing-upload-flow", "processing-upload-flow-2"):
            Workflow(name, WorkflowArgs(profile=DISPOSABLE.args, definition=SUCCEED))

    rules = run(build).of_type("aws:xray/samplingRule:SamplingRule")
    names = [rule.inputs["ruleName"] for rule in rules]
    assert all(len(name) == MAX_LENGTHS["sampling-rule"] for name in names), names
    assert len(set(names)) == 2
    assert all(name.startswith("image-pipeline-unit-") for name in names)


def test_a_state_machine_name_its_sampling_rule_cannot_match_is_refused():
    name = "f" * (XRAY_SERVICE_NAME_LIMIT - len("image-pipeline-unit-") + 1)
    with pytest.raises(SynthesisError, match=rf"state machine name '\S+' is {XRAY_SERVICE_NAME_LIMIT + 1} characters"):
        run(lambda: Workflow(name, WorkflowArgs(profile=DISPOSABLE.args, definition=SUCCEED)))


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
        run(lambda: Workflow("flow", WorkflowArgs(profile=DISPOSABLE.args, **definition.workflow_args(DISPOSABLE))))
    assert isinstance(raised.value.__cause__, DefinitionError)
    assert raised.value.declared == []


def test_start_execution_grant_is_exactly_this_state_machine(tmp_path):
    def build():
        function = Function(
            "work", FunctionArgs(profile=DISPOSABLE.args, code=tiny_code(tmp_path), handler="app.main.handler")
        )
        definition = Definition(start_at="Work", states=[function.invoke_task("Work")])
        flow = Workflow("flow", WorkflowArgs(profile=DISPOSABLE.args, **definition.workflow_args(DISPOSABLE)))
        flow.grant_start_execution(function)

    (policy,) = [p for p in run(build).of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "work-start-flow"]
    assert statements(policy) == [
        {"Sid": "StartExecution", "Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [MACHINE_ARN]}
    ]


def test_statements_repeated_by_several_states_are_merged_and_sids_stay_unique(tmp_path):
    def build():
        function = Function(
            "work", FunctionArgs(profile=DISPOSABLE.args, code=tiny_code(tmp_path), handler="app.main.handler")
        )
        table = Table("records", TableArgs(profile=DISPOSABLE.args, partition_key="pk", attributes={"pk": "S"}))
        other = Table("others", TableArgs(profile=DISPOSABLE.args, partition_key="pk", attributes={"pk": "S"}))

        def record(name, target, then=None):
            return target.update_item_task(name, key={"pk": {"S": "x"}}, update_expression="SET a = :a",
                                        attribute_values={":a": {"S": "b"}}, next=then)  # fmt: skip

        states = [function.invoke_task("First", next="Again"), function.invoke_task("Again", next="A"),
                  record("A", table, "B"), record("B", other)]  # fmt: skip
        definition = Definition(start_at="First", states=states)
        Workflow("flow", WorkflowArgs(profile=DISPOSABLE.args, **definition.workflow_args(DISPOSABLE),
                                      type=WorkflowType.STANDARD))  # fmt: skip

    found = statements(run(build).one("aws:iam/rolePolicy:RolePolicy", "flow-tasks"))
    sids = [s["Sid"] for s in found]
    assert len(sids) == len(set(sids)), f"IAM refuses repeated Sids: {sids}"
    assert sids.count("Invoke") == 1, "the same function invoked twice needs one statement"
    assert {"Table", "Table2"} <= set(sids), "two tables: two statements, numbered"


# --- plain args, as another language passes them ---------------------------------------------------------------

SUCCEED = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
SYNC_TASK = {
    "StartAt": "Run",
    "States": {"Run": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "TimeoutSeconds": 600,
                       "End": True}},
}  # fmt: skip


def test_a_plain_document_and_statements_deploy_as_written(tmp_path):
    def build():
        function = Function("work", FunctionArgs(profile=DISPOSABLE.args, code=tiny_code(tmp_path),
                                                 handler="app.main.handler"))  # fmt: skip
        task = {"Type": "Task", "Resource": function.arn, "TimeoutSeconds": function.timeout_seconds, "End": True}
        statement = {"actions": ["lambda:InvokeFunction"], "resources": [function.arn], "sid": "Invoke"}
        Workflow("flow", WorkflowArgs(profile=DISPOSABLE.args, definition={"StartAt": "Work", "States": {"Work": task}},
                                      statements=[statement]))  # fmt: skip

    synthesis = run(build)
    function_arn = synthesis.one("aws:lambda/function:Function").outputs["arn"]
    machine = synthesis.one("aws:sfn/stateMachine:StateMachine")
    assert json.loads(machine.inputs["definition"]) == {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": function_arn, "TimeoutSeconds": 30, "End": True}},
    }, machine.urn
    policy = synthesis.one("aws:iam/rolePolicy:RolePolicy", "flow-tasks")
    assert statements(policy)[0] == {
        "Sid": "Invoke", "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [function_arn]
    }, policy.urn  # fmt: skip


def test_a_document_known_only_at_deployment_is_checked_and_bounded_then():
    def flow(workflow_type):
        def build():
            document = pulumi.Output.from_input(SYNC_TASK)  # how a secret (or an older engine) delivers it
            Workflow("flow", WorkflowArgs(profile=DISPOSABLE.args, definition=document, type=workflow_type))

        return build

    with pytest.raises(SynthesisError, match=r"EXPRESS workflows support only request-response.*'Run' \(RUN_JOB"):
        run(flow(WorkflowType.EXPRESS))
    machine = run(flow(WorkflowType.STANDARD)).one("aws:sfn/stateMachine:StateMachine")
    assert json.loads(machine.inputs["definition"])["TimeoutSeconds"] == 600, machine.urn
    # The failed apply left futures that nobody awaits, released by the run since: collect them now, so that
    # asyncio's complaint goes to this test's captured log rather than to the end of the session.
    gc.collect()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "FAST"}, r"type: 'FAST' is not allowed; expected one of EXPRESS, STANDARD"),
        ({"statements": [{"actions": ["s3:*"], "resources": ["arn:aws:s3:::b"]}]},
         r"statements\[0\]: wildcard actions are not allowed"),
        ({"statements": [{"actions": ["s3:GetObject"], "resources": []}]}, r"statements\[0\]: a statement needs"),
        ({"definition": {"States": {}}}, r"definition: workflow 'flow' needs an Amazon States Language document"),
        ({"definition": SYNC_TASK}, r"EXPRESS workflows support only request-response.*'Run' \(RUN_JOB"),
    ],
)  # fmt: skip
def test_args_that_cannot_deploy_are_refused_by_name_before_anything_is_declared(change, message):
    args = WorkflowArgs(profile=DISPOSABLE.args, definition=SUCCEED)
    with pytest.raises(SynthesisError, match=message) as refused:
        run(lambda: Workflow("flow", {**args, **change}))
    assert refused.value.declared == []


def test_the_callers_document_is_left_as_it_was():
    document = json.loads(json.dumps(SYNC_TASK))
    run(lambda: Workflow("flow", WorkflowArgs(profile=DISPOSABLE.args, definition=document,
                                              type=WorkflowType.STANDARD)))  # fmt: skip
    assert document == SYNC_TASK, "the TimeoutSeconds the workflow adds goes to its own copy"


def test_a_workflow_constructs_from_what_another_language_sends():
    retry = {"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 1.5}
    task = {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "TimeoutSeconds": 60, "Retry": [retry],
            "End": True}  # fmt: skip
    statement = {"actions": ["ecs:RunTask"], "resources": ["arn:aws:ecs:eu-west-1:123456789012:task-definition/w:*"]}
    inputs = {"profile": DISPOSABLE.args, "definition": {"StartAt": "Run", "States": {"Run": task}},
              "statements": [statement], "type": "STANDARD"}  # fmt: skip

    synthesis = run(from_another_language(Workflow, "flow", inputs))
    machine = synthesis.one("aws:sfn/stateMachine:StateMachine")
    assert machine.inputs["type"] == "STANDARD"
    definition = json.loads(machine.inputs["definition"])
    run_state = definition["States"]["Run"]
    integers = [definition["TimeoutSeconds"], run_state["TimeoutSeconds"], *(run_state["Retry"][0][key] for key in
                ("IntervalSeconds", "MaxAttempts"))]  # fmt: skip
    assert all(type(number) is int for number in integers), f"{machine.urn}: Step Functions wants integers"
    assert run_state["Retry"][0]["BackoffRate"] == 1.5
    assert definition["TimeoutSeconds"] == 250  # 4 attempts of 60 s and waits of 2, 3 and 4.5 s, rounded up
    (found,) = [s for s in statements(synthesis.one("aws:iam/rolePolicy:RolePolicy", "flow-tasks")) if "Sid" not in s]
    assert found["Action"] == ["ecs:RunTask"], machine.urn
