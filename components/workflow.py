"""A Step Functions state machine whose role is derived from its states, logging its execution history to its own
group at the profile's `workflow.history` level.

Its args are plain data, as another language passes them: the Amazon States Language document and the IAM
statements its tasks need. In Python both come from a `components.states.Definition`:
`WorkflowArgs(profile=profile.args, **definition.workflow_args(profile))`.
"""

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam
from components.base import ChildTransform, Component
from components.budget import EXPRESS_LIMIT_SECONDS, WorstCase, worst_case
from components.iam import PolicyStatement, Statement
from components.logs import log_group
from components.monitoring import Watch, alarm, metric
from components.naming import NamingError, capped_name, physical_name
from components.profile import TracingSettings, WorkflowType, profile_from_args
from components.profile_args import ProfileArgs
from components.states import (
    SERVICE_CALL_TIMEOUT_SECONDS,
    Catch,
    DefinitionError,
    IntegrationPattern,
    Task,
    check_integrations,
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
START_EXECUTION_ACTIONS = ("states:StartExecution",)
INTEGER_FIELDS = frozenset({"TimeoutSeconds", "HeartbeatSeconds", "IntervalSeconds", "MaxAttempts",
                            "MaxDelaySeconds", "Seconds"})  # fmt: skip
"""ASL fields that Step Functions accepts only as integers: a number sent from another language arrives as a float
(`30.0`), which the state machine's validation would refuse."""

XRAY_SERVICE_TYPE = "AWS::StepFunctions::StateMachine"
"""The `origin` a state machine's X-Ray segments carry, which a sampling rule's ServiceType matches; its ServiceName
matches the segment's `name`, the state machine's name."""
XRAY_SERVICE_NAME_LIMIT = 64
"""X-Ray's limit for a sampling rule's ServiceName: a longer state machine name cannot be matched exactly."""
SAMPLING_RULE_PRIORITY = 1000
"""Before the account's Default rule (10000, always last); each workflow's rule matches that workflow alone, so the
value only orders it against rules of the account's own, e.g. a debugging rule given a lower number."""

STATES_METRICS = "AWS/States"


class WorkflowArgs(TypedDict):
    """The arguments of a Workflow."""

    profile: ProfileArgs
    """The environment profile as plain data: `EnvironmentProfile.args` in Python, the stack's `platform:profile`
    object in other languages."""
    definition: pulumi.Input[dict[str, Any]]
    """The state machine's Amazon States Language document (`StartAt`, `States`, ...) as an object whose values may
    be outputs (ARNs, names); `Definition.workflow_args` in Python. Every Task needs `TimeoutSeconds`: an EXPRESS
    workflow that could outlive five minutes is refused, and a STANDARD one without `TimeoutSeconds` gets its worst
    case."""
    statements: NotRequired[list[PolicyStatement]]
    """The IAM statements the tasks need (invoke a function, update a table...): the role's task policy. Default:
    none."""
    type: NotRequired[WorkflowType]
    """EXPRESS or STANDARD (`.sync` and task-token integrations need STANDARD). Default: the profile's
    `workflow.type`."""
    kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Customer-managed KMS key for the log group, which holds the execution history. Default: none, AWS-managed
    encryption."""


class Workflow(iam.RoleOwner, Component):
    """A Step Functions state machine: its execution history logged to its own log group at the profile's
    `workflow.history` level, ALL or ERROR, with or without execution data (for Express this is the only execution
    history), X-Ray tracing sampled by a rule of its own at the profile's `workflow.tracing` rates, and a role with
    exactly the statements its tasks need."""

    name: pulumi.Output[str]
    """The state machine's name."""
    arn: pulumi.Output[str]
    """The state machine's ARN: what a trigger or another workflow starts."""
    role_arn: pulumi.Output[str]
    """The state machine's role, which grants extend."""

    def __init__(
        self,
        name: str,
        args: WorkflowArgs,
        opts: pulumi.ResourceOptions | None = None,
        transform: Mapping[str, ChildTransform] | None = None,
    ) -> None:
        profile = profile_from_args(args["profile"])
        workflow_type = _workflow_type(args.get("type"), profile.workflow.type)
        statements = _statements(args.get("statements", []))
        # Checked before anything is declared: a definition that cannot run as written fails the preview. A
        # definition that arrives as one output (from another language) is checked once its value is known.
        definition = args["definition"]
        self.worst_case: WorstCase | None = None
        if isinstance(definition, pulumi.Output):
            rendered = definition.apply(lambda known: _checked(name, workflow_type, known)[0])
        else:
            rendered, self.worst_case = _checked(name, workflow_type, definition)
        super().__init__(name, opts, transform)
        self.type = workflow_type
        self.physical_name = _traceable(physical_name(name, "state-machine"))
        # Known before creation, so the role's trust policy can name exactly this state machine.
        expected_arn = pulumi.Output.format(
            "arn:aws:states:{0}:{1}:stateMachine:{2}", self.region, self.account_id, self.physical_name
        )
        group_name = f"/aws/vendedlogs/states/{self.physical_name}"
        self.log_group = log_group(f"{name}-logs", group_name, profile, args.get("kms_key_arn"), self)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=physical_name(name, "role"),
            assume_role_policy=iam.trust_policy("states.amazonaws.com", self.account_id, expected_arn),
            opts=self.child(),
        )
        self.task_policy = self.add_to_role_policy("tasks", [*statements, *_service_statements()])
        self.definition_json = pulumi.Output.from_input(rendered).apply(_to_json)
        self.state_machine = aws.sfn.StateMachine(
            f"{name}-state-machine",
            name=self.physical_name,
            type=self.type.value,
            role_arn=self.role.arn,
            definition=self.definition_json,
            logging_configuration={
                "level": profile.workflow.history.level.value,
                "include_execution_data": profile.workflow.history.include_execution_data,
                # Step Functions wants the log group ARN with the `:*` suffix.
                "log_destination": self.log_group.arn.apply(lambda arn: f"{arn}:*"),
            },
            tracing_configuration={"enabled": True},
            opts=self.child(depends_on=[self.task_policy]),
        )
        self.sampling_rule = self._sampling_rule(name, profile.workflow.tracing)
        self.name = self.state_machine.name
        self.arn = self.state_machine.arn
        self.role_arn = self.role.arn
        self.finish({"name": self.name, "arn": self.arn, "role_arn": self.role_arn})

    def _sampling_rule(self, name: str, tracing: TracingSettings) -> aws.xray.SamplingRule:
        """Which of this state machine's executions X-Ray records, instead of the account's Default rule (the first
        request each second and 5% of the rest: nearly every execution of a workflow that starts fewer than one a
        second). Matched by the name and origin Step Functions gives its segments; the resource ARN is left open
        because X-Ray documents what services fill it with only for API Gateway (a rule naming an ARN the service
        does not send would never match, and the Default rule would trace everything again)."""
        return aws.xray.SamplingRule(
            f"{name}-sampling",
            rule_name=capped_name(self.physical_name, "sampling-rule"),
            priority=SAMPLING_RULE_PRIORITY,
            reservoir_size=tracing.reservoir,
            fixed_rate=tracing.sample_rate,
            service_name=self.physical_name,
            service_type=XRAY_SERVICE_TYPE,
            resource_arn="*",
            host="*",
            http_method="*",
            url_path="*",
            version=1,
            opts=self.child(),
        )

    def watch(self) -> Watch:
        """Executions that failed, timed out or were throttled: the same metrics for Express and Standard."""
        dimensions = {"StateMachineArn": self.arn}
        alarms = [
            alarm("executions-failed", "Executions ended in a Fail state or an uncaught error: the execution "
                  "history (the log group) says which state and why.",
                  metric(STATES_METRICS, "ExecutionsFailed", dimensions)),
            alarm("executions-timed-out", "Executions ran past the workflow's own time limit.",
                  metric(STATES_METRICS, "ExecutionsTimedOut", dimensions)),
            alarm("executions-throttled", "Step Functions refused to start executions: the account's start rate "
                  "is exhausted.", metric(STATES_METRICS, "ExecutionThrottled", dimensions)),
        ]  # fmt: skip
        return Watch(title=f"Workflow {self.logical_name}", alarms=alarms, log_groups=[self.log_group.name])

    def grant_start_execution(self, grantee: iam.Grantable) -> aws.iam.RolePolicy | None:
        """Start executions of this workflow (an event rule, another workflow), and nothing more."""
        return grantee.add_to_role_policy(f"start-{self.logical_name}", [start_execution_statement(self.arn)])

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


def start_execution_statement(state_machine_arn: pulumi.Input[str]) -> Statement:
    """Start executions of the state machine `state_machine_arn`, and nothing more: `grant_start_execution`'s
    statement, for a component that has only the ARN (an ObjectCreatedTrigger)."""
    return Statement(actions=START_EXECUTION_ACTIONS, resources=[state_machine_arn], sid="StartExecution")


def _traceable(state_machine_name: str) -> str:
    """The state machine's name, refused before anything is declared when its sampling rule could not name it."""
    if len(state_machine_name) > XRAY_SERVICE_NAME_LIMIT:
        raise NamingError(
            f"state machine name {state_machine_name!r} is {len(state_machine_name)} characters; its X-Ray sampling "
            f"rule matches it by name, which X-Ray allows up to {XRAY_SERVICE_NAME_LIMIT}. Use a shorter project, "
            "stack or name."
        )
    return state_machine_name


def _workflow_type(value: WorkflowType | str | None, default: WorkflowType) -> WorkflowType:
    if value is None:
        return default
    try:
        return WorkflowType(value)
    except ValueError:
        allowed = ", ".join(member.value for member in WorkflowType)
        raise ValueError(f"type: {value!r} is not allowed; expected one of {allowed}") from None


def _statements(statements: Any) -> list[Statement]:
    if isinstance(statements, pulumi.Output):
        raise ValueError(
            "statements: arrived as a single output (a secret, or an engine that does not send output values); "
            "pass a plain list, whose resources may be outputs"
        )
    checked = []
    for index, statement in enumerate(statements):
        try:
            checked.append(Statement.from_args(statement))
        except (KeyError, ValueError) as error:
            raise ValueError(f"statements[{index}]: {error}") from error
    return checked


def _checked(name: str, workflow_type: WorkflowType, definition: Any) -> tuple[dict[str, Any], WorstCase]:
    """The definition to deploy, checked against the workflow type and bounded in time (a copy: the caller's
    document is left as it was)."""
    if (
        not isinstance(definition, Mapping)
        or not isinstance(definition.get("States"), Mapping)
        or ("StartAt" not in definition)
    ):
        raise ValueError(
            f"definition: workflow {name!r} needs an Amazon States Language document with StartAt and States; "
            f"got {type(definition).__name__}"
        )
    rendered = dict(definition)
    check_integrations(rendered, workflow_type)
    return rendered, _bounded(name, workflow_type, rendered)


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
    return json.dumps(_integers(definition), indent=2)


def _integers(value: Any) -> Any:
    """`value` with the whole floats of its INTEGER_FIELDS as ints, at any depth; every other number as it was."""
    if isinstance(value, Mapping):
        return {
            key: int(item)
            if key in INTEGER_FIELDS and isinstance(item, float) and item.is_integer()
            else _integers(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_integers(item) for item in value]
    return value
