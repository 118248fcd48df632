"""A Step Functions state machine whose role is derived from its states, logging everything to its own group."""

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.base import ChildTransform, Component
from components.budget import EXPRESS_LIMIT_SECONDS, WorstCase, worst_case
from components.iam import Statement
from components.key import EncryptionKey
from components.logs import log_group
from components.naming import physical_name
from components.profile import EnvironmentProfile, WorkflowType
from components.states import (
    SERVICE_CALL_TIMEOUT_SECONDS,
    Catch,
    Definition,
    DefinitionError,
    IntegrationPattern,
    Task,
    service_resource,
)

LOG_DELIVERY_ACTIONS = ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                        "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                        "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")  # fmt: skip
"""Vended log delivery has no resource-level permissions (AWS documents `*` for these)."""
TRACE_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                 "xray:GetSamplingTargets")  # fmt: skip
"""X-Ray has no resource-level permissions either."""
START_TRANSIENT_ERRORS = ("StepFunctions.SdkClientException", "StepFunctions.AWSStepFunctionsException",
                          "States.Timeout")  # fmt: skip
"""A start that got no answer, and the SDK's base exception, under which the optimized integration reports an error
code the SDK has no class for (Step Functions' throttling). Modelled errors are named `StepFunctions.` + the shape +
`Exception` (`ExecutionAlreadyExists` -> `StepFunctions.ExecutionAlreadyExistsException`); checked by
tests/program/test_error_names.py."""


@dataclass(frozen=True)
class WorkflowArgs:
    profile: EnvironmentProfile
    definition: Definition
    key: EncryptionKey | None = None
    """Encrypts the log group (which, with level ALL, holds the execution history)."""
    type: WorkflowType | None = None
    """Defaults to the profile's workflow type."""


class Workflow(iam.RoleOwner, Component):
    """Logging level ALL with execution data (for Express this is the only execution history) and X-Ray tracing."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    role: aws.iam.Role
    definition_json: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: WorkflowArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        workflow_type = args.type or args.profile.workflow.type
        # Checked before anything is declared: a definition that cannot run as written fails the preview.
        args.definition.validate_for(workflow_type)
        rendered = args.definition.render(args.profile.workflow.retry)
        self.worst_case = _bounded(name, workflow_type, rendered)
        super().__init__(name, opts, transform)
        self.type = workflow_type
        self.physical_name = physical_name(name, "state-machine")
        # Known before creation, so the role's trust policy can name exactly this state machine.
        expected_arn = pulumi.Output.format(
            "arn:aws:states:{0}:{1}:stateMachine:{2}", self.region, self.account_id, self.physical_name
        )
        group_name = f"/aws/vendedlogs/states/{self.physical_name}"
        self.log_group = log_group(f"{name}-logs", group_name, args.profile, args.key.arn if args.key else None, self)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=physical_name(name, "role"),
            assume_role_policy=iam.trust_policy("states.amazonaws.com", self.account_id, expected_arn),
            opts=self.child(),
        )
        self.task_policy = self.add_to_role_policy("tasks", [*args.definition.permissions(), *_service_statements()])
        self.definition_json = pulumi.Output.from_input(rendered).apply(_to_json)
        self.state_machine = aws.sfn.StateMachine(
            f"{name}-state-machine",
            name=self.physical_name,
            type=self.type.value,
            role_arn=self.role.arn,
            definition=self.definition_json,
            logging_configuration={
                "level": "ALL",
                "include_execution_data": True,
                # Step Functions wants the log group ARN with the `:*` suffix.
                "log_destination": self.log_group.arn.apply(lambda arn: f"{arn}:*"),
            },
            tracing_configuration={"enabled": True},
            opts=self.child(depends_on=[self.task_policy]),
        )
        self.name = self.state_machine.name
        self.arn = self.state_machine.arn
        self.finish({"name": self.name, "arn": self.arn, "role_arn": self.role.arn})

    def grant_start_execution(self, grantee: iam.Grantable) -> aws.iam.RolePolicy | None:
        """Start executions of this workflow (an event rule, another workflow), and nothing more."""
        statement = Statement(actions=["states:StartExecution"], resources=[self.arn], sid="StartExecution")
        return grantee.add_to_role_policy(f"start-{self.logical_name}", [statement])

    def start_execution_task(
        self,
        name: str,
        *,
        execution_name: str,
        next: str | None = None,
        catch: Sequence[Catch] = (),
        comment: str = "",
    ) -> Task:
        """Hand the whole state to this workflow without waiting (so an Express workflow may use it too).

        `execution_name` is an intrinsic-function expression; a deterministic name makes a repeated hand-over
        fail with `StepFunctions.ExecutionAlreadyExistsException` instead of starting the work twice."""
        return Task(
            name=name,
            resource=service_resource("states", "startExecution", IntegrationPattern.REQUEST_RESPONSE),
            parameters={"StateMachineArn": self.arn, "Input.$": "$", "Name.$": execution_name},
            statements=iam.statements_of(self.grant_start_execution),
            transient_errors=START_TRANSIENT_ERRORS,
            timeout_seconds=SERVICE_CALL_TIMEOUT_SECONDS,
            result_path="$.handedOver",
            next=next,
            catch=catch,
            comment=comment,
        )


def _bounded(name: str, workflow_type: WorkflowType, rendered: dict) -> WorstCase:
    """Refuse an Express definition that can outlive the five minutes Express allows (the execution would be cut
    off with nothing recorded); bound a Standard execution by its own worst case, so a hung task cannot hold it
    (and bill) for the year Standard allows."""
    case = worst_case(rendered)
    if workflow_type is WorkflowType.EXPRESS and case.seconds > EXPRESS_LIMIT_SECONDS:
        raise DefinitionError(
            f"workflow {name!r} is EXPRESS, whose executions are stopped after {EXPRESS_LIMIT_SECONDS} s with "
            f"nothing recorded, but it can run {case.seconds:g} s in the worst case: {case.explain()}. Lower the "
            "timeouts of its tasks (e.g. lambda.timeoutSeconds) or workflow.retry.maxAttempts/maxDelaySeconds, "
            "or make it a STANDARD workflow"
        )
    if workflow_type is WorkflowType.STANDARD:
        rendered.setdefault("TimeoutSeconds", math.ceil(case.seconds))
    return case


def _service_statements() -> list[Statement]:
    return [
        Statement(actions=LOG_DELIVERY_ACTIONS, resources=["*"], sid="LogDeliveryHasNoResourceScope"),
        Statement(actions=TRACE_ACTIONS, resources=["*"], sid="XRayHasNoResourceScope"),
    ]


def _to_json(definition: dict) -> str:
    return json.dumps(definition, indent=2)
