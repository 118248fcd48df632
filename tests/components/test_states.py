"""The ASL builder: rendering, retries from the profile, and definitions refused before deployment."""

import pytest

from components.iam import Statement
from components.profile import EnvironmentProfile, RetrySettings, WorkflowSettings, WorkflowType
from components.states import (
    Catch,
    Choice,
    Definition,
    DefinitionError,
    Fail,
    IntegrationPattern,
    Pass,
    Succeed,
    Task,
    When,
    check_integrations,
    integration_of,
    service_resource,
)


def task(name="Work", next=None, integration=IntegrationPattern.REQUEST_RESPONSE, **kwargs):
    return Task(
        name=name,
        resource=service_resource("ecs", "runTask", integration),
        parameters={"Cluster": "arn:cluster"},
        statements=[Statement(actions=["ecs:RunTask"], resources=["arn:task-definition"])],
        next=next,
        integration=integration,
        **kwargs,
    )


def test_a_task_renders_resource_parameters_retry_and_catch():
    definition = Definition(
        start_at="Work",
        states=[
            task(next="Done", transient_errors=("ECS.AmazonECSException",), catch=[Catch(next="Broken")]),
            Fail("Broken", error_path="$.error.Error", cause_path="$.error.Cause"),
            Succeed("Done"),
        ],
    )
    rendered = definition.render(RetrySettings(max_attempts=3, interval_seconds=2, backoff_rate=2.0,
                                               max_delay_seconds=30, jitter=True))  # fmt: skip
    assert rendered["StartAt"] == "Work"
    assert rendered["States"]["Work"] == {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask",
        "Parameters": {"Cluster": "arn:cluster"},
        "ResultPath": "$",
        "Retry": [
            {
                "ErrorEquals": ["ECS.AmazonECSException"],
                "IntervalSeconds": 2,
                "MaxAttempts": 3,
                "BackoffRate": 2.0,
                "MaxDelaySeconds": 30,
                "JitterStrategy": "FULL",
            }
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken", "ResultPath": "$.error"}],
        "Next": "Done",
    }
    assert rendered["States"]["Broken"] == {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
    assert rendered["States"]["Done"] == {"Type": "Succeed"}


def test_jitter_off_and_no_retries_follow_the_settings():
    work = task(transient_errors=("X",))
    assert work.to_asl(RetrySettings(jitter=False))["Retry"][0]["JitterStrategy"] == "NONE"
    assert "Retry" not in work.to_asl(RetrySettings(max_attempts=0))


def test_a_task_without_next_ends_the_execution():
    assert task().to_asl(RetrySettings())["End"] is True


def test_the_integration_pattern_is_the_resource_suffix():
    assert task(integration=IntegrationPattern.RUN_JOB).to_asl(RetrySettings())["Resource"].endswith("runTask.sync")


@pytest.mark.parametrize("pattern", [IntegrationPattern.RUN_JOB, IntegrationPattern.WAIT_FOR_TASK_TOKEN])
def test_express_refuses_integrations_that_wait(pattern):
    definition = Definition(start_at="Work", states=[task(integration=pattern)])
    with pytest.raises(
        DefinitionError, match=rf"EXPRESS workflows support only request-response.*'Work' \({pattern.name}"
    ):
        definition.validate_for(WorkflowType.EXPRESS)
    definition.validate_for(WorkflowType.STANDARD)


def test_express_accepts_request_response():
    Definition(start_at="Work", states=[task()]).validate_for(WorkflowType.EXPRESS)


@pytest.mark.parametrize(
    ("resource", "pattern"),
    [
        ("arn:aws:states:::ecs:runTask.sync", IntegrationPattern.RUN_JOB),
        ("arn:aws:states:::states:startExecution.sync:2", IntegrationPattern.RUN_JOB),
        ("arn:aws-us-gov:states:::sqs:sendMessage.waitForTaskToken", IntegrationPattern.WAIT_FOR_TASK_TOKEN),
        ("arn:aws:states:::dynamodb:updateItem", IntegrationPattern.REQUEST_RESPONSE),
        ("arn:aws:lambda:eu-west-1:123456789012:function:sync", IntegrationPattern.REQUEST_RESPONSE),
        (None, IntegrationPattern.REQUEST_RESPONSE),
    ],
)
def test_a_plain_documents_integrations_are_read_from_the_resource(resource, pattern):
    """What another language passes is the ASL alone: the resource's suffix is the integration pattern."""
    assert integration_of(resource) is pattern
    document = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": resource, "End": True}}}
    check_integrations(document, WorkflowType.STANDARD)
    if pattern is IntegrationPattern.REQUEST_RESPONSE:
        check_integrations(document, WorkflowType.EXPRESS)
    else:
        with pytest.raises(DefinitionError, match=rf"'Work' \({pattern.name}, '{pattern.value}'\)"):
            check_integrations(document, WorkflowType.EXPRESS)


def test_a_definition_gives_a_workflow_its_document_and_statements_as_plain_data():
    first = task(next="Done", transient_errors=("ECS.AmazonECSException",))
    definition = Definition(start_at="Work", states=[first, Succeed("Done")])
    profile = EnvironmentProfile(workflow=WorkflowSettings(retry=RetrySettings(max_attempts=7)))
    args = definition.workflow_args(profile)
    assert args["definition"] == definition.render(profile.workflow.retry)
    assert args["definition"]["States"]["Work"]["Retry"][0]["MaxAttempts"] == 7
    assert args["statements"] == [{"actions": ["ecs:RunTask"], "resources": ["arn:task-definition"]}]
    assert [Statement.from_args(plain).to_json() for plain in args["statements"]] == [
        statement.to_json() for statement in definition.permissions()
    ]


def test_a_statement_survives_the_trip_through_plain_data():
    statement = Statement(actions=("s3:ListBucket",), resources=["arn:aws:s3:::b"], sid="List",
                          conditions={"StringLike": {"s3:prefix": ["uploads/*"]}})  # fmt: skip
    assert statement.args == {"actions": ["s3:ListBucket"], "resources": ["arn:aws:s3:::b"], "sid": "List",
                              "conditions": {"StringLike": {"s3:prefix": ["uploads/*"]}}}  # fmt: skip
    assert Statement.from_args(statement.args).to_json() == statement.to_json()


@pytest.mark.parametrize(
    ("states", "start", "message"),
    [
        ([task(next="Nowhere")], "Work", r"state 'Work' goes to \['Nowhere'\], which are not states"),
        ([task()], "Begin", r"StartAt 'Begin' is not a state"),
        ([task(), Succeed("Orphan")], "Work", r"states \['Orphan'\] cannot be reached from 'Work'"),
        ([task(), task()], "Work", r"state name 'Work' is used twice"),
        ([task(catch=[Catch(next="Missing")])], "Work", r"goes to \['Missing'\]"),
    ],
)
def test_broken_definitions_are_refused_with_the_reason(states, start, message):
    with pytest.raises(DefinitionError, match=message):
        Definition(start_at=start, states=states)


def test_permissions_are_collected_from_every_state():
    first = task(next="Pass")
    definition = Definition(start_at="Work", states=[first, Pass("Pass", next="Done"), Succeed("Done")])
    assert definition.permissions() == list(first.statements)


def test_wildcard_actions_cannot_even_be_declared():
    with pytest.raises(ValueError, match="wildcard actions are not allowed"):
        Statement(actions=["s3:*"], resources=["arn:aws:s3:::bucket"])


def test_a_choice_renders_its_rules_and_default_and_its_targets_are_checked():
    choice = Choice("Route", [When("$.route", "lambda", "Work")], default="Done")
    assert choice.to_asl(RetrySettings()) == {
        "Type": "Choice",
        "Choices": [
            {
                "And": [{"Variable": "$.route", "IsPresent": True}, {"Variable": "$.route", "StringEquals": "lambda"}],
                "Next": "Work",
            }
        ],
        "Default": "Done",
    }
    Definition(start_at="Route", states=[choice, task(), Succeed("Done")])
    with pytest.raises(DefinitionError, match=r"goes to \['Elsewhere'\]"):
        Definition(start_at="Route", states=[Choice("Route", [When("$.r", "x", "Elsewhere")], "Done"), Succeed("Done")])
