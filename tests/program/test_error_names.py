"""Every error name in every Retry and Catch of every state machine of every stack is a name Step Functions can
report there. A name that cannot occur is not an error Step Functions reports: the Retry or Catch silently never
applies (a transient error is not retried, a refusal is not routed), and nothing else would notice.

- `States.*`: the names Step Functions defines
  (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
- An AWS SDK integration (`arn:aws:states:::aws-sdk:rdsdata:executeStatement`): `<Prefix>.<Error>`, the prefix from
  AWS's table of SDK integrations and the error an error shape of the service's botocore model, with `Exception`
  appended when the shape's name lacks it (RDS Data's `ServiceUnavailableError` is `RdsData.
  ServiceUnavailableErrorException`): https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
- An optimized integration (`dynamodb:updateItem`, `ecs:runTask.sync`, `states:startExecution`, a Lambda function
  ARN): the same rule with the integration's own prefix (`StepFunctions.ExecutionAlreadyExistsException` for the
  shape `ExecutionAlreadyExists`), plus the few names AWS reports that are no error shape (`NOT_ERROR_SHAPES`).
- A name without a dot on a Lambda task: the class name of an exception the invoked handler can raise (Lambda
  reports an unhandled exception under its class name).
"""

from __future__ import annotations

import difflib
import importlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

import botocore.session
import pytest

from synth.program import PROJECT_DIR, Synthesis

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
FUNCTION = "aws:lambda/function:Function"

STATES_ERRORS = frozenset({
    "States.ALL", "States.DataLimitExceeded", "States.ExceedToleratedFailureThreshold", "States.HeartbeatTimeout",
    "States.Http.Socket", "States.IntrinsicFailure", "States.ItemReaderFailed", "States.NoChoiceMatched",
    "States.ParameterPathFailure", "States.Permissions", "States.QueryEvaluationError", "States.ResultPathMatchFailure",
    "States.ResultWriterFailed", "States.Runtime", "States.TaskFailed", "States.Timeout", "States.BranchFailed",
})  # fmt: skip
"""https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-error-representation
(the same list as moto's StatesErrorNameType, plus States.Http.Socket of the HTTP Task)."""


@dataclass(frozen=True)
class Integration:
    prefix: str
    """The service name Step Functions puts in front of the error."""
    botocore: str
    """The service's name in botocore, whose model lists its error shapes."""
    also: frozenset[str] = field(default_factory=frozenset)
    """Names Step Functions reports for this integration that are no error shape of the model."""


NOT_ERROR_SHAPES: dict[str, frozenset[str]] = {
    "Lambda": frozenset({
        # AWS's retry list for Lambda's transient service errors, and the name of a function's unhandled error
        # (out of memory, timeout): https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
        "Lambda.ClientExecutionTimeoutException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
        "Lambda.Unknown",
    }),
    "ECS": frozenset({
        # A `.sync` RunTask whose answer lists failures (no capacity, no ENI):
        # https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html
        "AmazonECS.Unknown",
        # Not on an AWS page. Optimized integrations name an error after the exception class of the AWS SDK for
        # Java (v1), as AWS documents for Lambda (Lambda.AWSLambdaException, Lambda.SdkClientException, above):
        # the service's base class takes every error code the SDK has no class for (ECS's throttling among them),
        # SdkClientException a request that got no answer. AWS reports both for ECS:
        # https://github.com/CloudSnorkel/cdk-github-runners/pull/341 (ECS.AmazonECSException)
        "ECS.AmazonECSException", "ECS.SdkClientException",
    }),
    "DynamoDB": frozenset({
        # The base class, e.g. for a ValidationException, in AWS's own sample (Retry on a dynamodb:getItem task):
        # https://github.com/awsdocs/aws-step-functions-developer-guide/blob/3d6752c179885aa864a2a49eb47a8131b5004aa0/doc_source/synchronous-execution.md
        "DynamoDB.AmazonDynamoDBException",
        # Not on an AWS page: the SDK's client error, as for Lambda above; recorded against AWS for another
        # optimized integration (SQS.SdkClientException for a request that got no answer) in
        # https://github.com/localstack/localstack/blob/main/tests/aws/services/stepfunctions/v2/error_handling/test_task_service_sqs.snapshot.json
        "DynamoDB.SdkClientException",
    }),
    "StepFunctions": frozenset({
        # Not on an AWS page: the AWSStepFunctions client's base class (Step Functions' throttling has no class of
        # its own) and its client error, as for Lambda and DynamoDB above. Recorded against AWS, the optimized
        # integration names StateMachineDoesNotExist `StepFunctions.StateMachineDoesNotExistException` with cause
        # "(Service: AWSStepFunctions; ...)":
        # https://github.com/localstack/localstack/blob/main/tests/aws/services/stepfunctions/v2/error_handling/test_task_service_sfn.snapshot.json
        "StepFunctions.AWSStepFunctionsException", "StepFunctions.SdkClientException",
    }),
}  # fmt: skip
"""The explicit exceptions to "an error shape of the service", each with where it comes from."""

OPTIMIZED = {
    "lambda": Integration("Lambda", "lambda", NOT_ERROR_SHAPES["Lambda"]),
    "dynamodb": Integration("DynamoDB", "dynamodb", NOT_ERROR_SHAPES["DynamoDB"]),
    "ecs": Integration("ECS", "ecs", NOT_ERROR_SHAPES["ECS"]),
    "states": Integration("StepFunctions", "stepfunctions", NOT_ERROR_SHAPES["StepFunctions"]),
}
"""`arn:aws:states:::<service>:<action>` -> the integration (a Lambda function's ARN is `lambda`)."""
AWS_SDK = {
    "rdsdata": Integration("RdsData", "rds-data"),
}
"""`arn:aws:states:::aws-sdk:<service>:<action>` -> the integration: the "Exception prefix" column of
https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html#supported-services-awssdk-list
(a service a definition starts to use needs its row here)."""

HANDLER_PACKAGES = frozenset(path.parent.name for path in (PROJECT_DIR / "handlers").glob("*/__init__.py"))
IDEMPOTENCY = "aws_lambda_powertools.utilities.idempotency"
LIBRARY_ERRORS = {IDEMPOTENCY: f"{IDEMPOTENCY}.exceptions"}
"""A library utility that raises its own errors from inside a handler that uses it (Powertools' idempotency raises
IdempotencyAlreadyInProgressError for a duplicate that is still running) -> the module of those errors."""


def step_functions_name(shape: str) -> str:
    """`ServiceUnavailableError` -> `ServiceUnavailableErrorException`; `BadRequestException` stays as it is."""
    return shape if shape.endswith("Exception") else f"{shape}Exception"


@cache
def service_errors(integration: Integration) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model(integration.botocore)
    shapes = {f"{integration.prefix}.{step_functions_name(shape.name)}" for shape in model.error_shapes}
    return frozenset(shapes | integration.also)


@cache
def raisable(handler: str) -> frozenset[str]:
    """Class names of the exceptions a handler (`package.module.function`) can raise: every exception class in the
    namespace of its module and of the handler-package modules that one reaches, and the errors of the library
    utilities they use."""
    names: set[str] = set()
    seen: set[str] = set()
    pending = [handler.rpartition(".")[0]]
    while pending:
        module = importlib.import_module(pending.pop())
        if module.__name__ in seen:
            continue
        seen.add(module.__name__)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException):
                names.add(value.__name__)
            origin = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
            if not isinstance(origin, str):
                continue
            if origin.split(".")[0] in HANDLER_PACKAGES:
                pending.append(origin)
            for utility, errors in LIBRARY_ERRORS.items():
                if origin == utility or origin.startswith(f"{utility}."):
                    names |= {v.__name__ for v in vars(importlib.import_module(errors)).values()
                              if isinstance(v, type) and issubclass(v, BaseException)}  # fmt: skip
    return frozenset(names)


def integration_of(resource: str) -> Integration:
    if resource.startswith("arn:aws:lambda:"):
        return OPTIMIZED["lambda"]
    service, _, action = resource.removeprefix("arn:aws:states:::").partition(":")
    if service == "aws-sdk":
        sdk_service = action.partition(":")[0]
        if sdk_service not in AWS_SDK:
            raise LookupError(f"no AWS_SDK row for aws-sdk:{sdk_service} ({resource}): add its exception prefix")
        return AWS_SDK[sdk_service]
    if service not in OPTIMIZED:
        raise LookupError(f"no OPTIMIZED row for {service} ({resource})")
    return OPTIMIZED[service]


def invoked_handler(state: dict[str, Any], handlers: Mapping[str, str]) -> str | None:
    """The handler (`module.function`) a Lambda task invokes, by function ARN or by `FunctionName`."""
    target = state["Resource"]
    if target.startswith("arn:aws:states:::lambda:"):
        target = state.get("Parameters", {}).get("FunctionName", "")
    return handlers.get(target)


def states_of(definition: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state with its path, including those of Parallel branches and Map item processors."""
    for name, state in definition["States"].items():
        yield f"{path}{name}", state
        for where, inner in inner_definitions(state):
            yield from states_of(inner, f"{path}{name}.{where}.")


def inner_definitions(state: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The state machines inside a Parallel (its branches) or a Map (its item processor) state."""
    for index, branch in enumerate(state.get("Branches", [])):
        yield f"Branches[{index}]", branch
    for key in ("ItemProcessor", "Iterator"):
        if key in state:
            yield key, state[key]


def allowed_names(state: dict[str, Any], handlers: Mapping[str, str]) -> frozenset[str]:
    """What this state can report: its integration's errors (and, for a Lambda task, its handler's), or for a
    Parallel or Map state the errors of the tasks inside it."""
    if state["Type"] != "Task":
        tasks = [s for _, inner in inner_definitions(state) for _, s in states_of(inner) if s["Type"] == "Task"]
        return STATES_ERRORS.union(*(allowed_names(inner_task, handlers) for inner_task in tasks))
    integration = integration_of(state["Resource"])
    names = STATES_ERRORS | service_errors(integration)
    if integration is OPTIMIZED["lambda"]:
        handler = invoked_handler(state, handlers)
        if handler is not None:
            names |= raisable(handler)
    return names


def problems(machine: str, definition: dict[str, Any], handlers: Mapping[str, str]) -> list[str]:
    """One line per name that cannot occur where it is used: machine, state, field and name, and the nearest names
    that can."""
    found = []
    for name, state in states_of(definition):
        fields = [(f"Retry[{i}]", r) for i, r in enumerate(state.get("Retry", []))]
        fields += [(f"Catch[{i}]", c) for i, c in enumerate(state.get("Catch", []))]
        if not fields:
            continue
        allowed = allowed_names(state, handlers)
        for where, entry in fields:
            for error in entry["ErrorEquals"]:
                if error not in allowed:
                    near = difflib.get_close_matches(error, sorted(allowed), n=3, cutoff=0.6)
                    hint = f"; did you mean {' or '.join(near)}?" if near else ""
                    found.append(f"{machine}.{name} {where}.ErrorEquals: {error!r} cannot occur there{hint}")
    return found


def function_handlers(program: Synthesis) -> dict[str, str]:
    """Each function's ARN and name -> its handler (`module.function`)."""
    found = {}
    for function in program.of_type(FUNCTION):
        for key in (function.outputs["arn"], function.inputs["name"]):
            found[key] = function.inputs["handler"]
    return found


def test_every_retry_and_catch_names_an_error_that_can_occur(program):
    handlers = function_handlers(program)
    machines = program.of_type(STATE_MACHINE)
    assert machines
    found = [line for machine in machines
             for line in problems(machine.name, json.loads(machine.inputs["definition"]), handlers)]  # fmt: skip
    assert not found, f"stack {program.stack}:\n" + "\n".join(found)


def test_every_lambda_task_invokes_a_handler_the_check_can_read(program):
    handlers = function_handlers(program)
    for machine in program.of_type(STATE_MACHINE):
        for name, state in states_of(json.loads(machine.inputs["definition"])):
            if state["Type"] == "Task" and integration_of(state["Resource"]) is OPTIMIZED["lambda"]:
                handler = invoked_handler(state, handlers)
                assert handler, f"{machine.name}.{name}: {state['Resource']} is no function of the program"
                assert raisable(handler), f"{machine.name}.{name}: no exception found for {handler}"


def task(resource: str, *errors: str, catch: bool = False) -> dict[str, Any]:
    entry = {"ErrorEquals": list(errors), **({"Next": "Done"} if catch else {})}
    return {"States": {"T": {"Type": "Task", "Resource": resource, "Catch" if catch else "Retry": [entry]}}}


FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:process"
RDS_DATA = "arn:aws:states:::aws-sdk:rdsdata:executeStatement"
DYNAMODB = "arn:aws:states:::dynamodb:updateItem"


@pytest.mark.parametrize(
    ("definition", "bad"),
    [
        (task(RDS_DATA, "RdsData.ServiceUnavailableError"), "RdsData.ServiceUnavailableError"),
        (task(RDS_DATA, "rdsdata.BadRequestException"), "rdsdata.BadRequestException"),
        (task(RDS_DATA, "RdsData.ThrottlingException"), "RdsData.ThrottlingException"),
        (task(DYNAMODB, "DynamoDB.RequestLimitExceeded"), "DynamoDB.RequestLimitExceeded"),
        (task("arn:aws:states:::ecs:runTask.sync", "ECS.ThrottlingException"), "ECS.ThrottlingException"),
        (task("arn:aws:states:::states:startExecution", "StepFunctions.ExecutionAlreadyExists", catch=True),
         "StepFunctions.ExecutionAlreadyExists"),
        (task(DYNAMODB, "StaleEvent", catch=True), "StaleEvent"),
        (task(FUNCTION_ARN, "ImageNotFound", catch=True), "ImageNotFound"),
        (task(FUNCTION_ARN, "States.TimeOut"), "States.TimeOut"),
    ],
)  # fmt: skip
def test_a_name_that_cannot_occur_is_reported_with_its_state(definition, bad):
    [line] = problems("machine", definition, {FUNCTION_ARN: "pipeline.process.handler"})
    assert line.startswith("machine.T Retry[0]" if "Retry" in definition["States"]["T"] else "machine.T Catch[0]")
    assert repr(bad) in line


@pytest.mark.parametrize(
    "definition",
    [
        task(RDS_DATA, "RdsData.ServiceUnavailableErrorException", "RdsData.DatabaseResumingException"),
        task(DYNAMODB, "DynamoDB.RequestLimitExceededException", "States.ALL"),
        task("arn:aws:states:::states:startExecution", "StepFunctions.ExecutionAlreadyExistsException", catch=True),
        task("arn:aws:states:::ecs:runTask.sync", "AmazonECS.Unknown", "ECS.AmazonECSException"),
        task(FUNCTION_ARN, "Lambda.ServiceException", "IdempotencyAlreadyInProgressError", "CorruptImage"),
    ],
)
def test_names_that_can_occur_pass(definition):
    assert problems("machine", definition, {FUNCTION_ARN: "pipeline.process.handler"}) == []
