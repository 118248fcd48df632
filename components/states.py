"""Amazon States Language built in Python: each state renders its own JSON and declares the IAM it needs.

A Definition gives a Workflow's args with `workflow_args(profile)`: the rendered document, with the profile's
retries, and the IAM statements of every state, so the role can never drift from the definition. The Workflow checks
each integration against the workflow type on the rendered document (`check_integrations`), which is all another
language passes. Values may be Pulumi Outputs (ARNs, names).
"""

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import pulumi

from components.iam import PolicyStatement, Statement
from components.profile import EnvironmentProfile, RetrySettings, WorkflowType


class DefinitionError(pulumi.RunError):
    """A workflow definition that Step Functions would reject, or that could not behave as written."""


class IntegrationPattern(enum.Enum):
    """How a task waits for its service; Express workflows only support the first (no waiting)."""

    REQUEST_RESPONSE = ""
    RUN_JOB = ".sync"
    WAIT_FOR_TASK_TOKEN = ".waitForTaskToken"


EXPRESS_PATTERNS = frozenset({IntegrationPattern.REQUEST_RESPONSE})
WAITING_RESOURCE = re.compile(r"^arn:[\w-]+:states:::[\w-]+:\w+(?P<suffix>\.sync|\.waitForTaskToken)(:\d+)?$")
"""An integration ARN that waits: `arn:aws:states:::ecs:runTask.sync`, `...:startExecution.sync:2`,
`...:sqs:sendMessage.waitForTaskToken`."""

LAMBDA_TRANSIENT_ERRORS = ("Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                           "Lambda.ClientExecutionTimeoutException", "Lambda.TooManyRequestsException")  # fmt: skip
"""AWS's recommended retry list for lambda:invoke, and Lambda's throttling: service-side failures, never the
function's own errors (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html)."""
DYNAMODB_TRANSIENT_ERRORS = ("DynamoDB.ProvisionedThroughputExceededException",
                             "DynamoDB.RequestLimitExceededException", "DynamoDB.ThrottlingException",
                             "DynamoDB.InternalServerErrorException", "DynamoDB.SdkClientException",
                             "States.Timeout")  # fmt: skip
"""Throttling and server errors of botocore's dynamodb model as the optimized integration reports them: `DynamoDB.`
in front and `Exception` appended when the shape's name lacks it (`RequestLimitExceeded`, `InternalServerError`), and
the SDK's client error. Checked by tests/program/test_error_names.py."""
ALL_ERRORS = ("States.ALL",)
SERVICE_CALL_TIMEOUT_SECONDS = 5
"""For one API call of a request-response integration (a DynamoDB write, a StartExecution): they answer in
milliseconds, and a call that hangs for longer is retried (States.Timeout is in their transient errors: the calls are
conditional or named, so safe to repeat), then caught, rather than left to hold the execution."""


@dataclass(frozen=True)
class Catch:
    """Route `errors` to `next`, keeping the original input and putting the error at `result_path`."""

    next: str
    errors: Sequence[str] = ALL_ERRORS
    result_path: str = "$.error"

    def to_asl(self) -> dict[str, Any]:
        return {"ErrorEquals": list(self.errors), "Next": self.next, "ResultPath": self.result_path}


class State:
    """Base of every state: a unique name, where it goes next, and what it needs."""

    name: str

    def to_asl(self, retry: RetrySettings) -> dict[str, Any]:
        raise NotImplementedError

    def targets(self) -> list[str]:
        return []

    def permissions(self) -> list[Statement]:
        return []

    @property
    def pattern(self) -> IntegrationPattern:
        return IntegrationPattern.REQUEST_RESPONSE


def _transition(next_state: str | None) -> dict[str, Any]:
    return {"Next": next_state} if next_state else {"End": True}


def service_resource(service: str, action: str, integration: IntegrationPattern) -> str:
    """`arn:aws:states:::ecs:runTask.sync`: an optimized or SDK integration with its waiting pattern."""
    return f"arn:aws:states:::{service}:{action}{integration.value}"


@dataclass(frozen=True)
class Task(State):
    """A service integration. Retries on the service's transient errors are added unless `transient_errors` is empty."""

    name: str
    resource: Any
    """The integration's ARN (see `service_resource`), or a Lambda function's ARN to invoke it directly."""
    parameters: Mapping[str, Any] | None
    statements: Sequence[Statement]
    next: str | None = None
    integration: IntegrationPattern = IntegrationPattern.REQUEST_RESPONSE
    transient_errors: Sequence[str] = ()
    catch: Sequence[Catch] = ()
    result_path: str | None = "$"
    result_selector: Mapping[str, Any] | None = None
    timeout_seconds: int | None = None
    comment: str = ""

    def to_asl(self, retry: RetrySettings) -> dict[str, Any]:
        asl: dict[str, Any] = {"Type": "Task", "Resource": self.resource, "ResultPath": self.result_path}
        if self.parameters is not None:
            asl["Parameters"] = dict(self.parameters)
        if self.comment:
            asl["Comment"] = self.comment
        if self.result_selector:
            asl["ResultSelector"] = dict(self.result_selector)
        if self.timeout_seconds:
            asl["TimeoutSeconds"] = self.timeout_seconds
        if self.transient_errors and retry.max_attempts:
            asl["Retry"] = [retrier(self.transient_errors, retry)]
        if self.catch:
            asl["Catch"] = [catch.to_asl() for catch in self.catch]
        return asl | _transition(self.next)

    def targets(self) -> list[str]:
        return [target for target in [self.next, *(c.next for c in self.catch)] if target]

    def permissions(self) -> list[Statement]:
        return list(self.statements)

    @property
    def pattern(self) -> IntegrationPattern:
        return self.integration


class Rule:
    """A Choice rule. Each one first checks that its variable is present: Step Functions fails the whole execution
    with States.Runtime (which no Catch handles) when a comparison reads a path that does not exist, so a missing
    field falls through to the Choice's Default instead."""

    variable: str
    next: str

    def comparison(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_asl(self) -> dict[str, Any]:
        present = {"Variable": self.variable, "IsPresent": True}
        test = self.comparison()
        condition = {"And": [present, {"Variable": self.variable, **test}]} if test else present
        return condition | {"Next": self.next}


@dataclass(frozen=True)
class When(Rule):
    """Go to `next` when the value at `variable` equals `equals` (a string or a number)."""

    variable: str
    equals: str | int
    next: str

    def comparison(self) -> dict[str, Any]:
        return {"NumericEquals" if isinstance(self.equals, int) else "StringEquals": self.equals}


@dataclass(frozen=True)
class Matches(Rule):
    """Go to `next` when the string at `variable` matches `pattern` (`*` is the only wildcard)."""

    variable: str
    pattern: str
    next: str

    def comparison(self) -> dict[str, Any]:
        return {"StringMatches": self.pattern}


@dataclass(frozen=True)
class Present(Rule):
    """Go to `next` when `variable` exists, whatever its value."""

    variable: str
    next: str

    def comparison(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Choice(State):
    name: str
    rules: Sequence[Rule]
    default: str

    def to_asl(self, retry: RetrySettings) -> dict[str, Any]:
        return {"Type": "Choice", "Choices": [rule.to_asl() for rule in self.rules], "Default": self.default}

    def targets(self) -> list[str]:
        return [*(rule.next for rule in self.rules), self.default]


@dataclass(frozen=True)
class Pass(State):
    name: str
    parameters: Mapping[str, Any] | None = None
    result_path: str | None = "$"
    next: str | None = None

    def to_asl(self, retry: RetrySettings) -> dict[str, Any]:
        asl: dict[str, Any] = {"Type": "Pass", "ResultPath": self.result_path}
        if self.parameters is not None:
            asl["Parameters"] = dict(self.parameters)
        return asl | _transition(self.next)

    def targets(self) -> list[str]:
        return [self.next] if self.next else []


@dataclass(frozen=True)
class Succeed(State):
    name: str

    def to_asl(self, retry: RetrySettings) -> dict[str, Any]:
        return {"Type": "Succeed"}


@dataclass(frozen=True)
class Fail(State):
    """Ends the execution as failed; the error and cause come from the state input when paths are given."""

    name: str
    error: str | None = None
    cause: str | None = None
    error_path: str | None = None
    cause_path: str | None = None

    def to_asl(self, retry: RetrySettings) -> dict[str, Any]:
        fields = {"Error": self.error, "Cause": self.cause, "ErrorPath": self.error_path, "CausePath": self.cause_path}
        return {"Type": "Fail"} | {key: value for key, value in fields.items() if value is not None}


class WorkflowDefinition(TypedDict):
    """What a Definition gives a Workflow's args (`Definition.workflow_args`)."""

    definition: dict[str, Any]
    statements: list[PolicyStatement]


@dataclass(frozen=True)
class Definition:
    start_at: str
    states: Sequence[State]
    comment: str = ""
    timeout_seconds: int | None = None
    _by_name: dict[str, State] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, State] = {}
        for state in self.states:
            if state.name in by_name:
                raise DefinitionError(f"state name {state.name!r} is used twice; state names must be unique")
            by_name[state.name] = state
        object.__setattr__(self, "_by_name", by_name)
        self._check_targets()

    def validate_for(self, workflow_type: WorkflowType) -> None:
        """Express workflows cannot wait for a job or a task token: refuse rather than fail at deployment."""
        check_integrations(self.render(RetrySettings()), workflow_type)  # retries do not change what waits

    def workflow_args(self, profile: EnvironmentProfile) -> WorkflowDefinition:
        """The `definition` and `statements` of a Workflow's args: the document rendered with the profile's retry
        policy, and the IAM statements its states need."""
        return {
            "definition": self.render(profile.workflow.retry),
            "statements": [statement.args for statement in self.permissions()],
        }

    def permissions(self) -> list[Statement]:
        return [statement for state in self.states for statement in state.permissions()]

    def render(self, retry: RetrySettings) -> dict[str, Any]:
        """The ASL document as a dict whose leaves may be Outputs (resolve with `pulumi.Output.from_input`)."""
        asl: dict[str, Any] = {
            "StartAt": self.start_at,
            "States": {state.name: state.to_asl(retry) for state in self.states},
        }
        if self.comment:
            asl["Comment"] = self.comment
        if self.timeout_seconds:
            asl["TimeoutSeconds"] = self.timeout_seconds
        return asl

    def _check_targets(self) -> None:
        if self.start_at not in self._by_name:
            raise DefinitionError(f"StartAt {self.start_at!r} is not a state; states are {sorted(self._by_name)}")
        for state in self.states:
            missing = [target for target in state.targets() if target not in self._by_name]
            if missing:
                raise DefinitionError(f"state {state.name!r} goes to {missing}, which are not states")
        unreachable = set(self._by_name) - self._reachable()
        if unreachable:
            raise DefinitionError(f"states {sorted(unreachable)} cannot be reached from {self.start_at!r}")

    def _reachable(self) -> set[str]:
        seen: set[str] = set()
        pending = [self.start_at]
        while pending:
            name = pending.pop()
            if name not in seen:
                seen.add(name)
                pending.extend(self._by_name[name].targets())
        return seen


def integration_of(resource: Any) -> IntegrationPattern:
    """How a Task with this `Resource` waits: the suffix of an integration ARN; anything else (a Lambda function's
    ARN, a value known only at deployment) is request-response."""
    match = WAITING_RESOURCE.match(resource) if isinstance(resource, str) else None
    if match is None:
        return IntegrationPattern.REQUEST_RESPONSE
    return IntegrationPattern(match["suffix"])


def check_integrations(definition: Mapping[str, Any], workflow_type: WorkflowType) -> None:
    """Express workflows cannot wait for a job or a task token: refuse a rendered definition (ASL) whose tasks do,
    rather than fail at deployment."""
    if workflow_type is not WorkflowType.EXPRESS:
        return
    patterns = {name: integration_of(state.get("Resource")) for name, state in definition["States"].items()
                if state.get("Type") == "Task"}  # fmt: skip
    waiting = {name: pattern for name, pattern in patterns.items() if pattern not in EXPRESS_PATTERNS}
    if waiting:
        details = ", ".join(f"{name!r} ({pattern.name}, '{pattern.value}')" for name, pattern in waiting.items())
        raise DefinitionError(
            f"EXPRESS workflows support only request-response integrations, but {details} wait(s) for "
            "completion; use a STANDARD workflow for these states, or start one from this workflow"
        )


def retrier(errors: Sequence[str], retry: RetrySettings) -> dict[str, Any]:
    """One Retry entry: exponential backoff from `retry`, capped, with full jitter unless turned off."""
    return {
        "ErrorEquals": list(errors),
        "IntervalSeconds": retry.interval_seconds,
        "MaxAttempts": retry.max_attempts,
        "BackoffRate": retry.backoff_rate,
        "MaxDelaySeconds": retry.max_delay_seconds,
        "JitterStrategy": "FULL" if retry.jitter else "NONE",
    }
