"""Every change the local cloud makes to moto's behaviour, in one place; moto is pinned to 5.2.5.

Each adaptation replaces one attribute of one moto module or class, says which limit or bug of the emulator it
works around (with the upstream issue where there is one) and records the SHA-256 of the source it replaces:
`tests/emulator/test_adaptations.py` fails, naming the adaptation, when that source changes (a moto upgrade), and
probes the unpatched emulator to show each bug is still there, so an adaptation that upstream made unnecessary is
noticed and removed. They are applied only inside `applied()`, which `emulator.cloud.LocalCloud` enters together with
moto's mock, and are removed on exit.

The adaptations call back into the local cloud through `Hooks` (the in-process runtime and the ledgers it keeps);
they hold no state of their own beyond it.
"""

from __future__ import annotations

import base64
import copy
import functools
import importlib
import inspect
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError, UnknownServiceError
from moto.awslambda.models import LambdaFunction
from moto.cloudwatch.exceptions import DashboardInvalidInputError
from moto.cloudwatch.responses import CloudWatchResponse
from moto.dynamodb.responses import DynamoHandler
from moto.ec2 import utils as ec2_utils
from moto.ecs.exceptions import InvalidParameterException as EcsInvalidParameter
from moto.ecs.models import EC2ContainerServiceBackend, Task
from moto.events.models import EventPattern, Rule, events_backends
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, IAMBackend
from moto.moto_api import state_manager
from moto.rdsdata import urls as rdsdata_urls
from moto.s3 import notifications as s3_notifications
from moto.sns.models import SNSBackend, Subscription, sns_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_operator_type import (
    ComparisonOperatorType,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_variable import ComparisonVariable
from moto.stepfunctions.parser.asl.component.state.choice.comparison.variable import NoSuchVariable
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_aws_sdk,
    state_task_service_dynamodb,
    state_task_service_ecs,
    state_task_service_sfn,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.responses import get_backend as stepfunctions_backend
from moto.utilities.arns import parse_arn

from emulator.dataapi import DataApi, DataApiError, translate
from emulator.faults import FaultPlan
from emulator.iam import Authorizer, Check, Principal
from emulator.runtime import ContainerRun, FunctionConfig, Runtime

MOTO_VERSION = "5.2.5"
POLL_SECONDS = 0.1
ECS_TASK_MODEL = "ecs::task"
ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"


@dataclass(frozen=True)
class Delivery:
    """One event an EventBridge rule delivered (or failed to deliver) to a Step Functions target."""

    event: dict[str, Any]
    rule_arn: str
    target_arn: str
    execution_arn: str | None
    error: str | None = None


@dataclass(frozen=True)
class DataApiCall:
    """One statement the Data API ran (an ExecuteStatement, or one parameter set of a BatchExecuteStatement), what
    the local check found likely wrong with it, and the error it was answered with, if any."""

    resource_arn: str
    secret_arn: str
    database: str
    sql: str
    parameters: dict[str, Any]
    problems: tuple[str, ...]
    error: str | None = None
    """`Code: message` of the Data API's error answer; None when the statement ran."""
    transaction_id: str | None = None
    """The transaction it ran in, when the request named one."""


@dataclass
class Hooks:
    """What the adaptations need from the local cloud."""

    runtime: Runtime
    entrypoints: dict[str, str]
    """Container image reference -> the module its ENTRYPOINT runs with `python -m`."""
    scratch: str
    """The directory a task's scratch volume stands for (the container's TMPDIR)."""
    authorizer: Authorizer
    """Mints each principal's credentials and authorizes every call made with them (emulator/iam.py)."""
    faults: FaultPlan = field(default_factory=FaultPlan)
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Cluster ARN -> {"secretArn", "database", "userSecretArns"} of each deployed cluster with the Data API on."""
    data_api: DataApi | None = None
    """The Data API of the deployed clusters, on their embedded PostgreSQL (emulator/dataapi/)."""
    deliveries: list[Delivery] = field(default_factory=list)
    data_api_calls: list[DataApiCall] = field(default_factory=list)
    tasks: dict[str, threading.Thread] = field(default_factory=dict)
    task_keys: dict[str, str] = field(default_factory=dict)
    """Task ARN -> the access key of its task role's credentials (revoked when the task is stopped)."""
    lock: threading.Lock = field(default_factory=threading.Lock)


_hooks: Hooks | None = None


def hooks() -> Hooks:
    if _hooks is None:
        raise RuntimeError("the local cloud's adaptations are not applied; use emulator.cloud.LocalCloud")
    return _hooks


# 1. Lambda: run the real handler in-process ---------------------------------------------------------------------


def invoke_in_process(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
    """moto has no hook to run a Python handler without Docker (getmoto/moto#9916); `LambdaFunction.invoke` is
    where every invoke path (the Lambda API, Step Functions, EventBridge, S3) reaches a function. This runs the
    handler in-process and reports an exception or a timeout as Lambda does: FunctionError "Unhandled" and a
    payload whose `errorType` Step Functions uses as the error name (moto reports every error as "Handled")."""
    function = FunctionConfig(
        name=self.function_name,
        arn=self.function_arn,
        handler=self.handler,
        role=self.role,
        environment=dict(self.environment_vars),
        timeout_seconds=float(self.timeout),
        memory_mb=int(self.memory_size),
        region=self.region,
    )
    payload = body.encode() if isinstance(body, str) else (body or b"{}")
    result = hooks().runtime.invoke(function, payload)
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    if request_headers.get("x-amz-log-type") == "Tail":
        tail = f"START RequestId: {result.request_id}\nEND Duration: {result.duration_seconds * 1000:.2f} ms\n"
        response_headers["x-amz-log-result"] = base64.b64encode(tail.encode()).decode()
    return result.payload


# 2. S3 -> EventBridge: events shaped as S3 sends them ------------------------------------------------------------

_sequence = itertools.count(time.time_ns() // 1000)
_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
}


def send_object_created(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    """moto 5.2.5 sends every S3 event to EventBridge with the same `id` and the same `sequencer`, the ETag under
    `eTag` (S3 sends `etag`), `version-id: "null"` for unversioned buckets (S3 leaves it out), a Unix float
    `time` and the event type as `reason`; and it swallows every delivery error. Consumers order uploads by
    sequencer, name executions after the event id and validate the event, so Object Created events are built
    here as S3 documents them (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html): a fresh UUID,
    a sequencer that grows with every upload, ISO time. They go to the default event bus only, as S3's do."""
    if event_name not in _REASONS:
        return _ORIGINALS["s3-event-shape"](account_id, bucket, event_name, key)
    obj: dict[str, Any] = {"key": key.name, "size": key.size, "etag": key.etag.strip('"')}
    if key.version_id and key.version_id != "null":
        obj["version-id"] = key.version_id
    obj["sequencer"] = f"{next(_sequence):X}".zfill(18)
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": _REASONS[event_name],
        },
    }
    default_bus = events_backends[account_id][bucket.region_name].event_buses.get("default")
    for rule in list(default_bus.rules.values()) if default_bus else []:
        rule.send_to_targets(event, transform_input=False)
    return None


# 3. EventBridge: patterns over arrays of objects, and targets moto cannot deliver to --------------------------------


def matches_event(self: EventPattern, event: dict[str, Any]) -> bool:
    """moto flattens an event's objects but keeps an array, or an empty object, as one leaf value. So a pattern on
    a field of the objects in an array never matches (`{"detail": {"containers": {"exitCode": [1]}}}` on ECS's
    `"containers": [{"exitCode": 1}]`), and an empty array or object counts as a present field (`exists: true`
    matches `"resources": []`). EventBridge takes the array out of the path: the objects in an array give their
    fields to the array's own path, and the pattern matches if any value found there matches ("if the value in the
    event is an array, then the event pattern matches if the intersection of the event pattern array and the event
    array is non-empty", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html;
    aws/event-ruler's README, "JSON Array Matching"); and "exists matching only works on leaf nodes"
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html).
    EventBridge's TestEventPattern answers both so (LocalStack's AWS-validated pattern cases `list_within_dict` and
    `exists_list_empty_NEG`). Here the event is flattened that way; matching the values ($or, anything-but, prefix,
    numeric, exists, ...) stays moto's, which agrees with EventBridge on the rest of those cases.

    Not emulated: whether EventBridge lets two fields of one pattern match in different objects of the same array
    (event-ruler's JSON matcher refuses it; AWS does not document it): here they may."""
    if not self._pattern:
        return True
    leaves: dict[str, list[Any]] = {}
    _leaf_values(json.loads(json.dumps(event)), "", leaves)
    flat = {path: values[0] if len(values) == 1 else values for path, values in leaves.items()}
    return bool(self._does_event_match(flat, self._pattern))


def _leaf_values(node: Any, path: str, leaves: dict[str, list[Any]]) -> None:
    """Every leaf value of `node` under its dotted path, arrays (at any depth) taken out of the path."""
    if isinstance(node, dict):
        for key, value in node.items():
            _leaf_values(value, f"{path}.{key}" if path else key, leaves)
    elif isinstance(node, list):
        for item in node:
            _leaf_values(item, path, leaves)
    else:
        leaves.setdefault(path, []).append(node)


def send_to_targets(self: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
    """moto's rules deliver only to logs, SQS, event buses, archives and API destinations: a Step Functions or SNS
    target raises NotImplementedError, which (inside S3's notification code) silently ends delivery to every later
    rule. This starts the execution as EventBridge does, with the event as input and a unique name (moto's own
    unnamed starts collide on an `...:None` ARN), and publishes the event to a topic as EventBridge does (the event
    as the message, when the topic's policy lets events.amazonaws.com publish for this rule:
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions); what
    it cannot deliver goes to the target's dead-letter queue. Other targets go to moto's code unchanged.
    EventBridge's retry policy (here 185 attempts over 24 hours) is not emulated: a failed delivery goes to the
    dead-letter queue at once."""
    if not self.event_pattern.matches_event(original_event):
        return
    own = [target for target in self.targets if parse_arn(target["Arn"]).service in _DELIVERIES]
    for target in own:
        _DELIVERIES[parse_arn(target["Arn"]).service](self, target, _as_delivered(target, original_event))
    others = [target for target in self.targets if target not in own]
    if others:
        rest = copy.copy(self)
        rest.targets = others
        _ORIGINALS["eventbridge-targets"](rest, original_event, transform_input)


def _as_delivered(target: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it to a target (ISO time; moto keeps a Unix float)."""
    if any(target.get(option) for option in ("Input", "InputPath", "InputTransformer")):
        raise NotImplementedError(f"target {target['Id']}: only the event itself is supported as input here")
    delivered = dict(event)
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = datetime.fromtimestamp(delivered["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def _start_workflow(rule: Rule, target: dict[str, Any], delivered: dict[str, Any]) -> None:
    arn = parse_arn(target["Arn"])
    try:
        _authorize_target(rule, target)
        execution = stepfunctions_backend(arn.account, arn.region).start_execution(
            state_machine_arn=target["Arn"], name=str(uuid.uuid4()), execution_input=json.dumps(delivered)
        )
    except Exception as error:  # EventBridge keeps what it could not deliver in the dead-letter queue
        _dead_letter(rule, target, delivered, error)
        _record(Delivery(delivered, rule.arn, target["Arn"], None, f"{type(error).__name__}: {error}"))
        return
    _record(Delivery(delivered, rule.arn, target["Arn"], execution.execution_arn))


def _publish(rule: Rule, target: dict[str, Any], delivered: dict[str, Any]) -> None:
    arn = parse_arn(target["Arn"])
    try:
        sns = sns_backends[arn.account][arn.region]
        _authorize_publish(rule, sns.get_topic(target["Arn"]))
        sns.publish(message=json.dumps(delivered), arn=target["Arn"])
    except Exception as error:  # as for a workflow: kept in the dead-letter queue
        _dead_letter(rule, target, delivered, error)


_DELIVERIES: dict[str, Callable[[Rule, dict[str, Any], dict[str, Any]], None]] = {
    "states": _start_workflow,
    "sns": _publish,
}
"""Target service -> how EventBridge delivers to it, where moto cannot."""


class TargetNotPermitted(PermissionError):
    """The rule may not deliver to the target (EventBridge reports NO_PERMISSIONS and dead-letters the event)."""


def _authorize_target(rule: Rule, target: dict[str, Any]) -> None:
    """EventBridge assumes the target's role (which must trust events.amazonaws.com from this rule) and starts the
    execution with it: the role needs states:StartExecution on the target."""
    role = target.get("RoleArn")
    if not role:
        raise TargetNotPermitted(f"target {target['Id']} has no role: EventBridge needs one to start a workflow")
    authorizer = hooks().authorizer
    authorizer.check_trust(role, "events.amazonaws.com", rule.arn)
    denial = authorizer.allows(Principal(role, f"events-{rule.name}"), Check("states:StartExecution", target["Arn"]))
    if denial is not None:
        raise TargetNotPermitted(denial.message())


def _authorize_publish(rule: Rule, topic: Any) -> None:
    """EventBridge publishes as the service principal events.amazonaws.com, over TLS, on behalf of the rule: the
    topic's policy must allow sns:Publish for it (`aws:SourceArn` the rule, `aws:SourceAccount` its account) and
    deny nothing; without a statement naming the service, the default policy (the owner account only) refuses."""
    context = {"aws:SourceArn": rule.arn, "aws:SourceAccount": parse_arn(rule.arn).account,
               "aws:SecureTransport": "true"}  # fmt: skip
    applying = [statement for statement in _statements(json.loads(topic.policy))
                if _names_service(statement.get("Principal"), "events.amazonaws.com")
                and _names(statement.get("Action"), "sns:Publish") and _names(statement.get("Resource"), topic.arn)
                and _condition_holds(statement.get("Condition") or {}, context)]  # fmt: skip
    if any(statement.get("Effect") == "Deny" for statement in applying):
        raise TargetNotPermitted(f"the policy of topic {topic.arn} denies sns:Publish to rule {rule.arn}")
    if not any(statement.get("Effect") == "Allow" for statement in applying):
        raise TargetNotPermitted(f"the policy of topic {topic.arn} does not allow events.amazonaws.com to publish "
                                 f"for rule {rule.arn}")  # fmt: skip


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _names_service(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return service in _values(principal.get("Service", [])) or "*" in _values(principal.get("AWS", []))


def _names(element: Any, value: str) -> bool:
    """An Action or Resource element names `value`, IAM's wildcards included."""
    return any(fnmatchcase(value, pattern) for pattern in _values(element if element is not None else []))


def _dead_letter(rule: Rule, target: dict[str, Any], event: dict[str, Any], error: Exception) -> None:
    queue_arn = target.get("DeadLetterConfig", {}).get("Arn")
    if not queue_arn:
        return
    queue = parse_arn(queue_arn)
    attributes = {
        "RULE_ARN": rule.arn,
        "TARGET_ARN": target["Arn"],
        "ERROR_CODE": "NO_PERMISSIONS" if isinstance(error, TargetNotPermitted) else type(error).__name__,
        "ERROR_MESSAGE": str(error)[:256],
    }
    sqs_backends[queue.account][queue.region].send_message(
        queue_name=queue.resource_id,
        message_body=json.dumps(event),
        message_attributes={name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()},
    )


def _record(delivery: Delivery) -> None:
    with hooks().lock:
        hooks().deliveries.append(delivery)


# 4. ECS: run the container, and runTask(.sync) from Step Functions -------------------------------------------------

OVERRIDES_LIMIT = 8192
"""ECS refuses RunTask overrides longer than this, JSON formatting included (InvalidParameterException,
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html)."""
TASK_STOPPED_BY_STEP_FUNCTIONS = "Task stopped by Step Functions: the state that ran it ended first"
TASK_FAILED_TO_START = "TaskFailedToStart"
USER_INITIATED = "UserInitiated"
"""ECS's stop code of a task stopped by StopTask (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/
API_Task.html, `stopCode`)."""


def run_task(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> list[Task]:
    """moto records tasks but runs no container, and its tasks advance to STOPPED each time they are described.
    This runs the container's entrypoint in-process in the background (the image's ENTRYPOINT module, with the
    task definition's environment, the run's container overrides and the task role's credentials) and keeps the
    task RUNNING until it exits, then STOPPED with the exit code, as ECS reports it. An image with no local
    entrypoint, or a start failure the fault plan injects, stops the task before its container runs (no exit code).
    Overrides over ECS's limit are refused, as ECS refuses them (moto accepts any size). When the task has
    stopped, ECS's `ECS Task State Change` event goes to the default event bus, as ECS sends it (moto sends none)."""
    overrides = kwargs.get("overrides") if "overrides" in kwargs else (args[3] if len(args) > 3 else None)
    if overrides and len(json.dumps(overrides, separators=(",", ":"))) > OVERRIDES_LIMIT:
        raise EcsInvalidParameter(f"Container Overrides length must be at most {OVERRIDES_LIMIT}")
    tasks: list[Task] = _ORIGINALS["ecs-run-container"](self, *args, **kwargs)
    created = datetime.now(UTC)
    for task in tasks:
        thread = threading.Thread(target=_run_container, args=(self, task, created), name=f"ecs:{task.id[:8]}",
                                  daemon=True)  # fmt: skip
        with hooks().lock:
            hooks().tasks[task.task_arn] = thread
        thread.start()
    return tasks


def _run_container(backend: EC2ContainerServiceBackend, task: Task, created: datetime) -> None:
    definition = backend.describe_task_definition(task.task_definition_arn)
    container = definition.container_definitions[0]
    entrypoint = hooks().entrypoints.get(container.get("image", ""))
    not_started = hooks().faults.take_start_failure()
    if entrypoint is None or not_started:
        reason = not_started or f"CannotPullContainerError: no local entrypoint for {container['image']}"
        _stop(task, None, TASK_FAILED_TO_START, reason)
        _send_task_stopped(task, definition, created, None)
        return
    environment = {item["name"]: item["value"] for item in container.get("environment") or []}
    for override in task.overrides.get("containerOverrides") or []:
        if override.get("name") == container["name"]:
            environment.update({item["name"]: item["value"] for item in override.get("environment") or []})
    environment.update({"TMPDIR": hooks().scratch, "AWS_REGION": task.region_name,
                        "AWS_DEFAULT_REGION": task.region_name, **_task_credentials(task, definition)})  # fmt: skip
    started = datetime.now(UTC)
    code = hooks().runtime.run_container(ContainerRun(task.task_arn, entrypoint, environment))
    _stop(task, code, ESSENTIAL_CONTAINER_EXITED, "Essential container in task exited")
    _send_task_stopped(task, definition, created, started)


def _task_credentials(task: Task, definition: Any) -> dict[str, str]:
    """The task role's credentials, as ECS serves them to the containers of one task (revoked when it is stopped)."""
    source = f"arn:aws:ecs:{task.region_name}:{parse_arn(task.task_arn).account}:task/{task.cluster_name}/{task.id}"
    credentials = hooks().authorizer.credentials(definition.task_role_arn, task.id, "ecs-tasks.amazonaws.com", source)
    with hooks().lock:
        hooks().task_keys[task.task_arn] = credentials["AWS_ACCESS_KEY_ID"]
    return credentials


def _stop(task: Task, exit_code: int | None, stop_code: str, reason: str) -> None:
    """The container ended; a task somebody stopped first keeps the reason it was given, with ECS's stop code for
    a StopTask (moto's StopTask sets none)."""
    for container in task.containers:
        container.exitCode = exit_code
        container.last_status = "STOPPED"
    if task.last_status != "STOPPED":
        task.stop_code = stop_code
        task.stopped_reason = reason
    elif not getattr(task, "stop_code", None):
        task.stop_code = USER_INITIATED
    task.desired_status = "STOPPED"
    task.last_status = "STOPPED"


def _send_task_stopped(task: Task, definition: Any, created: datetime, started: datetime | None) -> None:
    """ECS's `ECS Task State Change` event of the stopped task, to every rule of the default event bus. Its detail
    is the task as DescribeTasks shows it, with ISO timestamps, as the example at https://docs.aws.amazon.com/
    AmazonECS/latest/developerguide/ecs_task_events.html has it. A rule whose delivery fails does not keep the
    event from the others; the failures are raised afterwards, on the task's thread."""
    account = parse_arn(task.task_arn).account
    bus = events_backends[account][task.region_name].event_buses.get("default")
    event = _task_state_change(task, definition, created, started)
    failures = []
    for rule in list(bus.rules.values()) if bus else []:
        try:
            rule.send_to_targets(event, transform_input=False)
        except Exception as error:
            failures.append(error)
    if failures:
        raise ExceptionGroup(f"the stopped event of task {task.task_arn} was not delivered to every rule", failures)


def _task_state_change(task: Task, definition: Any, created: datetime, started: datetime | None) -> dict[str, Any]:
    """The event as moto keeps events until a target gets them: `time` a Unix time, which each target writes as
    EventBridge does (moto's own SQS and log targets need it so)."""
    moment = datetime.now(UTC)
    now = _iso_milliseconds(moment)
    containers = []
    for container in task.containers:
        described = {"containerArn": container.container_arn, "lastStatus": container.last_status,
                     "name": container.name, "image": container.image, "taskArn": task.task_arn,
                     "cpu": str(container.cpu)}  # fmt: skip
        if container.exitCode is not None:
            described["exitCode"] = container.exitCode
        elif task.stop_code == TASK_FAILED_TO_START:
            described["reason"] = task.stopped_reason
        containers.append(described)
    detail: dict[str, Any] = {
        "attachments": task.attachments,
        "clusterArn": task.cluster_arn,
        "containers": containers,
        "createdAt": _iso_milliseconds(created),
        "cpu": definition.cpu,
        "memory": definition.memory,
        "desiredStatus": task.desired_status,
        "group": task.group,
        "lastStatus": task.last_status,
        "overrides": task.overrides,
        "stopCode": task.stop_code,
        "stoppedReason": task.stopped_reason,
        "stoppingAt": now,
        "stoppedAt": now,
        "updatedAt": now,
        "taskArn": task.task_arn,
        "taskDefinitionArn": task.task_definition_arn,
    }
    if started is not None:
        detail["startedAt"] = _iso_milliseconds(started)
    if task.started_by:
        detail["startedBy"] = task.started_by
    if task.launch_type:
        detail["launchType"] = task.launch_type
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": parse_arn(task.task_arn).account,
        "time": moment.timestamp(),
        "region": task.region_name,
        "resources": [task.task_arn],
        "detail": detail,
    }


def _iso_milliseconds(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ecs_service_task(self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict,
                     state_credentials: Any) -> None:  # fmt: skip
    """A RunTask whose answer lists failures (no capacity, no ENI) and no task fails a `.sync` state with
    AmazonECS.Unknown, as Step Functions documents (https://docs.aws.amazon.com/step-functions/latest/dg/
    connect-ecs.html), and is returned as it is otherwise; moto reads `Tasks[0]` of any answer (an IndexError).
    The rest is moto's: a started task is answered with its description."""
    ecs = role_clients(resource_runtime_part.region, "ecs", state_credentials)
    response = getattr(ecs, self._get_boto_service_action())(**normalised_parameters)
    response.pop("ResponseMetadata", None)
    if self._get_boto_service_action() != "run_task":
        env.stack.append(response)
        return
    self._normalise_response(response=response, service_action_name="run_task")
    if not response.get("Tasks"):
        if self.resource.condition is not None:
            raise _failure(self, env, "AmazonECS.Unknown", json.dumps(response.get("Failures", [])))
        env.stack.append(response)
        return
    task = response["Tasks"][0]
    described = ecs.describe_tasks(cluster=task["ClusterArn"], tasks=[task["TaskArn"]])
    described.pop("ResponseMetadata", None)
    self._normalise_response(response=described, service_action_name="describe_tasks")
    env.stack.append(described)


def ecs_error(self: Any, env: Any, ex: Exception) -> FailureEvent:
    """An ECS API error (AccessDenied on iam:PassRole, an invalid parameter) fails the state as `ECS.<Code>`, which
    a Catch can handle; moto's ECS integration has no mapping of its own, so every one became States.Runtime."""
    if not isinstance(ex, ClientError):
        return _ORIGINALS["ecs-sfn-error-names"](self, env, ex)
    code = ex.response["Error"]["Code"]
    name = f"ECS.{code}" if code.endswith("Exception") else f"ECS.{code}Exception"
    return _failure(self, env, name, f"{ex.response['Error'].get('Message', '')} (Service: AmazonECS; Error Code: "
                                     f"{code})").failure_event  # fmt: skip


def ecs_sync_resolver(self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict,
                      state_credentials: Any) -> Callable[[], Any]:  # fmt: skip
    """`.sync` waits for the task to stop and, like Step Functions, fails the state with States.TaskFailed (the
    stopped task's description as the cause) when an essential container exited non-zero or the task did not
    start; moto 5.2.5 reads the camelCase response as PascalCase and never fails a task. Step Functions manages
    the events rule that reports the task's end with the workflow's role, so the role needs those rights; and when
    the state ends before the task (it timed out, or the execution stopped), Step Functions stops the task."""
    client = role_clients(resource_runtime_part.region, "ecs", state_credentials)
    submitted = env.stack.pop()
    cluster, task_arn = submitted["Tasks"][0]["ClusterArn"], submitted["Tasks"][0]["TaskArn"]
    _authorize_sync_rule(state_credentials.role_arn, cluster)
    _stop_when_state_ends(env, client, cluster, task_arn)

    def resolve() -> dict | None:
        described = client.describe_tasks(cluster=cluster, tasks=[task_arn])
        if described["tasks"][0]["lastStatus"] != "STOPPED":
            return None
        self._normalise_response(response=described, service_action_name="describe_tasks")
        stopped = described["Tasks"][0]
        if _task_failed(stopped):
            raise _task_failed_error(self, env, stopped)
        return stopped

    return resolve


SYNC_RULE_ACTIONS = ("events:PutTargets", "events:PutRule", "events:DescribeRule")
SYNC_RULE = "StepFunctionsGetEventsForECSTaskRule"


def _authorize_sync_rule(role_arn: str, cluster_arn: str) -> None:
    arn = parse_arn(cluster_arn)
    rule = f"arn:aws:events:{arn.region}:{arn.account}:rule/{SYNC_RULE}"
    for action in SYNC_RULE_ACTIONS:
        denial = hooks().authorizer.allows(Principal(role_arn, "states"), Check(action, rule))
        if denial is not None:
            raise PermissionError(denial.message())


def _stop_when_state_ends(env: Any, client: Any, cluster: str, task_arn: str) -> None:
    def watch() -> None:
        while env.is_running():
            time.sleep(POLL_SECONDS)
        described = client.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
        if described and described[0]["lastStatus"] != "STOPPED":
            client.stop_task(cluster=cluster, task=task_arn, reason=TASK_STOPPED_BY_STEP_FUNCTIONS)
            with hooks().lock:
                key = hooks().task_keys.get(task_arn)
            if key:  # the container gets SIGTERM: here, its credentials stop working
                hooks().authorizer.revoke(key)

    threading.Thread(target=watch, name=f"ecs-watch:{task_arn[-8:]}", daemon=True).start()


def _task_failed(task: dict[str, Any]) -> bool:
    if task.get("StopCode") != ESSENTIAL_CONTAINER_EXITED:
        return True
    return any(container.get("ExitCode") != 0 for container in task.get("Containers", []))


def _task_failed_error(service: Any, env: Any, task: dict[str, Any]) -> Exception:
    return _failure(service, env, StatesErrorNameType.StatesTaskFailed.to_name(), to_json_str(task))


def _failure(service: Any, env: Any, error: str, cause: str) -> Exception:
    """The state fails with `error` (a States.* name or a custom one) and `cause`, as a TaskFailed event."""
    failed = StatesErrorNameType.StatesTaskFailed
    name = StatesErrorName(typ=failed) if error == failed.to_name() else CustomErrorName(error)
    details = TaskFailedEventDetails(resource=service._get_sfn_resource(), error=error, cause=cause,
                                     resourceType=service._get_sfn_resource_type())  # fmt: skip
    return FailureEventException(
        FailureEvent(env=env, error_name=name, event_type=HistoryEventType.TaskFailed,
                     event_details=EventDetails(taskFailedEventDetails=details))
    )  # fmt: skip


# 5. Step Functions service integrations: PascalCase in the state, boto3's casing on the wire ------------------------


def integration_parameters(self: Any, parameters: dict, boto_service_name: str | None = None,
                           service_action_name: str | None = None) -> None:  # fmt: skip
    """A state's Parameters are PascalCase (`Cluster`, `StateMachineArn`, `ResourceArn`); boto3 wants the API's
    own member names. moto 5.2.5 left `StateTaskService._normalise_parameters` (and `_normalise_response`) empty,
    so `ecs:runTask`, `states:startExecution` and `aws-sdk:*` tasks reach boto3 in the wrong case and fail
    (getmoto/moto#10076, fixed on moto's main branch per integration, as its Batch one shows). Both map through
    botocore's model of the operation, as LocalStack's interpreter (which moto's is ported from) does."""
    operation = _operation(self, boto_service_name, service_action_name)
    if operation is not None and operation.input_shape is not None:
        self._to_boto_request(parameters, operation.input_shape)


def integration_response(self: Any, response: Any, boto_service_name: str | None = None,
                         service_action_name: str | None = None) -> None:  # fmt: skip
    operation = _operation(self, boto_service_name, service_action_name)
    if operation is not None and operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)
    _dates_as_text(response)


def _dates_as_text(value: Any) -> None:
    """boto3 parses timestamps into datetimes; a state's data is JSON, where Step Functions writes them as ISO
    8601 text (left as datetimes they break moto's own DescribeExecution)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in list(items):
        if isinstance(item, datetime):
            value[key] = item.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        else:
            _dates_as_text(item)


def _operation(service: Any, boto_service_name: str | None, service_action_name: str | None) -> Any:
    """botocore's model of the task's operation (`run_task` -> ECS RunTask), or None if botocore has none."""
    model, operations = _service_model(service._get_boto_service_name(boto_service_name))
    operation = operations.get(service._get_boto_service_action(service_action_name))
    return model.operation_model(operation) if operation else None


@functools.cache
def _service_model(name: str) -> tuple[Any, dict[str, str]]:
    try:
        model = botocore.session.get_session().get_service_model(name)
    except UnknownServiceError:
        return None, {}
    return model, {xform_name(operation): operation for operation in model.operation_names}


# 6. The aws-sdk integration: the service names Step Functions uses --------------------------------------------------


def aws_sdk_boto_service_name(self: Any, boto_service_name: str | None = None) -> str:
    """Step Functions names an SDK integration's service without hyphens (`aws-sdk:rdsdata:executeStatement`);
    moto 5.2.5 passes that name to boto3, which knows the service as `rds-data` ("Unknown service: 'rdsdata'"),
    so every `aws-sdk` task of a hyphenated service fails with States.Runtime."""
    name = _ORIGINALS["aws-sdk-service-names"](self, boto_service_name)
    return _hyphenated_services().get(name, name)


@functools.cache
def _hyphenated_services() -> dict[str, str]:
    names = botocore.session.get_session().get_available_services()
    return {name.replace("-", ""): name for name in names if "-" in name}


# 7. The interpreter's clients: the workflow's own role, one client per service ---------------------------------------


class RoleClients:
    """Stands in for moto's `boto_client_for` in the integrations the workflows use. moto builds a new client for
    every task through boto3's default session (not safe from several threads, boto/boto3#1592; ~7 ms a client)
    and signs with fixed fake keys, so nothing could tell whose call it is. Here each service, region and role gets
    one client, built under a lock, signing with credentials of the execution's role (`state_credentials`): every
    integration call is authorized as the workflow's role, as Step Functions makes it. botocore clients are safe to
    share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str, str], Any] = {}

    def __call__(self, region: str, service: str, state_credentials: Any = None) -> Any:
        role = state_credentials.role_arn
        with self._lock:
            if (service, region, role) not in self._clients:
                self._clients[service, region, role] = self._build(region, service, role)
            return self._clients[service, region, role]

    def _build(self, region: str, service: str, role: str) -> Any:
        machine = _state_machine_of(role, region)
        credentials = hooks().authorizer.credentials(role, machine.name, "states.amazonaws.com", machine.arn)
        session = boto3.session.Session(
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            region_name=region,
        )
        return session.client(service, config=Config(parameter_validation=False,
                                                     retries={"max_attempts": 0, "total_max_attempts": 1}))  # fmt: skip

    def reset(self) -> None:
        with self._lock:
            self._clients.clear()


def _state_machine_of(role: str, region: str) -> Any:
    """The state machine whose role this is (its ARN is the source the role's trust policy names)."""
    account = role.split(":")[4]
    machines = [m for m in stepfunctions_backend(account, region).state_machines if m.roleArn == role]
    if not machines:
        raise LookupError(f"no state machine runs with role {role}")
    return machines[0]


role_clients = RoleClients()
_CLIENT_USERS = (lambda_eval_utils, state_task_service_ecs, state_task_service_sfn, state_task_service_dynamodb,
                 state_task_service_aws_sdk)  # fmt: skip
"""The modules of the integrations the workflows use, each holding its own reference to `boto_client_for`."""


# 7b. Step Functions' runtime errors, as strict as AWS ---------------------------------------------------------------


def comparison_on_missing_path(self: ComparisonVariable, env: Any) -> None:
    """A Choice rule that compares a path the input does not have fails the execution with States.Runtime on AWS
    (only IsPresent may look at a missing path); moto compares its NoSuchVariable marker and answers false, so a
    definition that would fail on AWS takes the Default here."""
    self.variable.eval(env)
    value = env.stack[-1]
    if isinstance(value, NoSuchVariable) and self.comparison_function.operator_type != ComparisonOperatorType.IsPresent:
        raise _runtime_error(env, f"Invalid path '{value.path.split(',')[0]}': the choice state's condition path "
                                  "references an undefined value")  # fmt: skip
    self.comparison_function.eval(env)


def error_equals_never_runtime(self: ErrorEqualsDecl, env: Any) -> None:
    """States.Runtime "isn't retriable, and will always cause the execution to fail. A retry or catch on States.ALL
    won't catch States.Runtime errors" (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling
    .html); moto lets States.ALL catch it, so a definition that leaves a record PROCESSING on AWS recovers here."""
    if _is_runtime_error(env.stack[-1]):
        env.stack.pop()
        env.stack.append(False)
        return
    _ORIGINALS["sfn-runtime-uncatchable"](self, env)


def task_parameters_or_runtime_error(self: StateTask, env: Any) -> dict:
    """A task whose Parameters name a path the input does not have fails the execution with States.Runtime on AWS;
    moto reports it as the service's error (`DynamoDB.AmazonDynamoDBException`), which a Catch then handles."""
    try:
        return _ORIGINALS["sfn-task-parameter-path"](self, env)
    except FailureEventException:
        raise
    except Exception as error:
        raise _runtime_error(env, str(error)) from error


def _is_runtime_error(error_name: Any) -> bool:
    return isinstance(error_name, StatesErrorName) and error_name.typ == StatesErrorNameType.StatesRuntime


def _runtime_error(env: Any, cause: str) -> FailureEventException:
    """States.Runtime, reported the way moto reports its own runtime errors."""
    runtime = StatesErrorNameType.StatesRuntime
    details = TaskFailedEventDetails(error=runtime.to_name(), cause=cause)
    return FailureEventException(
        FailureEvent(env=env, error_name=StatesErrorName(typ=runtime), event_type=HistoryEventType.TaskFailed,
                     event_details=EventDetails(taskFailedEventDetails=details))
    )  # fmt: skip


# 8. The interpreter parses each definition once ------------------------------------------------------------------

_programs_lock = threading.Lock()
_programs: dict[str, Any] = {}


def evaluation_entrypoint(self: ExecutionWorker) -> Any:
    """moto parses the definition with its ANTLR grammar for every execution: ~35 ms of pure Python for the
    upload workflow, a quarter of an image's cost here, taken under the GIL from every other execution. Parse each
    definition once and give every execution its own deep copy (~2 ms), so no parsed state is shared."""
    definition = self._evaluation_details.state_machine_details.definition
    with _programs_lock:
        if definition not in _programs:
            _programs[definition] = _ORIGINALS["sfn-parse-once"](self)
        program = _programs[definition]
    return copy.deepcopy(program)


# 9. JSONPath: a literal index mid-path selects one element ----------------------------------------------------------

_WILDCARD_SLICE_OR_FILTER = re.compile(r"\[\s*(\*|-?\d*\s*:|\?|\()")


def every_index_is_literal(path: str) -> bool:
    """moto returns a one-element list for `$.Containers[0].ExitCode` (an index before the last step), where Step
    Functions returns the element, so a Choice on the exit code never matches and States.Format prints `[2]`.
    `extract_json` unwraps a single match only when this predicate (moto's `_is_singleton_array_access`, which
    looks at the last step alone) holds; it holds here for any path whose every index is a literal number."""
    return "[" in path and not _WILDCARD_SLICE_OR_FILTER.search(path)


# 10. The Data API: served by the embedded PostgreSQL -----------------------------------------------------------------

_DATA_API_PATHS = {"/Execute": "ExecuteStatement", "/BatchExecute": "BatchExecuteStatement",
                   "/BeginTransaction": "BeginTransaction", "/CommitTransaction": "CommitTransaction",
                   "/RollbackTransaction": "RollbackTransaction"}  # fmt: skip
"""Each Data API operation's path (botocore's rds-data model, `requestUri`)."""


def data_api_request(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """moto's Data API runs no SQL: ExecuteStatement answers canned results for any ARN and SQL (its own docstring:
    "There is no validation yet on any of the input parameters"), and BeginTransaction, CommitTransaction,
    RollbackTransaction and BatchExecuteStatement are not routed at all ("Not yet implemented"). Here every one of
    them is answered by the local cloud's Data API (emulator/dataapi/) from the cluster's embedded PostgreSQL, as
    the caller's secret's login. Each statement is recorded with what the static check finds wrong with it (a
    parameter the SQL does not use, a secret that is not the cluster's nor one of its users') and the error answered,
    if any. IAM was checked before the request got here (emulator/iam.py, on the client's side)."""
    operation = _DATA_API_PATHS[urlsplit(full_url).path.rstrip("/")]
    body = request.get_data() if hasattr(request, "get_data") else getattr(request, "body", b"")
    params: dict[str, Any] = json.loads(body or b"{}")
    local = hooks()
    error: DataApiError | None = None
    try:
        if local.data_api is None:
            raise DataApiError("HttpEndpointNotEnabledException", "no cluster with the Data API is deployed")
        answer = local.data_api.call(operation, params)
    except DataApiError as raised:
        error = raised
    if operation in ("ExecuteStatement", "BatchExecuteStatement"):
        _record_statements(params, error)
    # Every AWS answer names its request; Step Functions puts the id in a failed task's cause (and moto's aws-sdk
    # integration reads it there: without it, a Data API error ends the execution with a KeyError).
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
    if error is not None:
        return error.status, {**headers, "x-amzn-ErrorType": error.code}, json.dumps({"message": error.message})
    return 200, headers, json.dumps(answer)


def _record_statements(params: dict[str, Any], error: DataApiError | None) -> None:
    request = {name: str(params.get(name) or "") for name in ("resourceArn", "secretArn", "database", "sql")}
    parameter_sets = params.get("parameterSets") or [params.get("parameters") or []]
    for parameters in parameter_sets:
        values = {item.get("name", ""): item.get("value", {}) for item in parameters}
        call = DataApiCall(request["resourceArn"], request["secretArn"], request["database"], request["sql"], values,
                           tuple(_statement_problems(request, values)),
                           f"{error.code}: {error.message}" if error else None,
                           params.get("transactionId"))  # fmt: skip
        with hooks().lock:
            hooks().data_api_calls.append(call)


def _statement_problems(request: dict[str, str], parameters: dict[str, Any]) -> Iterator[str]:
    """What runs but is likely a mistake: a parameter the SQL has no placeholder for, a secret that is neither the
    cluster's nor one of its users', another database than the cluster's."""
    cluster = hooks().databases.get(request["resourceArn"])
    if cluster is not None:
        if request["secretArn"] not in (cluster["secretArn"], *cluster.get("userSecretArns", ())):
            yield f"secret {request['secretArn']} is not the cluster's ({cluster['secretArn']}) nor a user's"
        if request["database"] and request["database"] != cluster["database"]:
            yield f"database {request['database']!r} is not the cluster's ({cluster['database']!r})"
    unused = sorted(set(parameters) - set(translate(request["sql"]).names))
    if unused:
        yield f"parameters {unused} are not placeholders of the SQL"


# 11. IAM policy evaluation: a condition moto cannot evaluate does not hold ----------------------------------------


def policy_statement_permits(self: IAMPolicyStatement, action: str, resource: str = "*", principal: str | None = None,
                             incoming_condition_values: dict[str, str] | None = None) -> PermissionResult:  # fmt: skip
    """moto evaluates only `StringEquals` conditions, and takes any other operator, or a key missing from the
    request context (S3 passes none), as satisfied. So the standard TLS-only bucket policy (`Deny` if
    `aws:SecureTransport` is `false`, Security Hub S3.5) denies every PutObject in moto 5.2.5, where on AWS an
    HTTPS request makes that condition false; and least-privilege statements (RunTask `ArnEquals` its cluster,
    PassRole `StringEquals` its service) would hold whatever the request. Here each condition is evaluated with the
    operators the stack's policies use (`CONDITION_OPERATORS`); a statement whose condition does not hold, or
    uses another operator, does not apply (NEUTRAL). The rest is moto's code unchanged."""
    if self._statement.get("Condition") and not _condition_holds(
        self._statement["Condition"], incoming_condition_values
    ):
        return PermissionResult.NEUTRAL
    return _ORIGINALS["policy-condition-not-met"](self, action, resource, principal, incoming_condition_values)


def _values(expected: Any) -> list[str]:
    return [str(value) for value in (expected if isinstance(expected, list) else [expected])]


CONDITION_OPERATORS: dict[str, Callable[[Any, str], bool]] = {
    "StringEquals": lambda expected, actual: actual in _values(expected),
    "ArnEquals": lambda expected, actual: actual in _values(expected),
    "StringLike": lambda expected, actual: any(fnmatchcase(actual, pattern) for pattern in _values(expected)),
    "ArnLike": lambda expected, actual: any(fnmatchcase(actual, pattern) for pattern in _values(expected)),
    "Bool": lambda expected, actual: actual.lower() in [value.lower() for value in _values(expected)],
}
"""IAM's condition operators, with IAM's wildcards (`*`, `?`) for the `Like` ones; a key the request does not have
makes the condition false, as IAM has it for every operator without `IfExists`."""


def _condition_holds(condition: dict[str, dict[str, Any]], context: dict[str, str] | None) -> bool:
    for operator, expected_by_key in condition.items():
        verify = CONDITION_OPERATORS.get(operator)
        for key, expected in expected_by_key.items():
            if verify is None or not context or key not in context or not verify(expected, str(context[key])):
                return False
    return True


# 12. EC2: resources with the ids the program was given ------------------------------------------------------------

_given_ids = threading.local()


@contextmanager
def given_id(prefix: str, resource_id: str) -> Iterator[None]:
    """Create the next EC2 resource whose id starts with `prefix` (`vpc`, `subnet`, `sg`) as `resource_id`."""
    _given_ids.pending = (prefix, resource_id)
    try:
        yield
    finally:
        _given_ids.pending = None


def random_id(prefix: str = "", size: int = 17) -> str:
    """moto's EC2 cannot create a resource under a chosen id (its `_custom_id_` tag covers other services), yet
    the workflow definition names the subnets and security groups the program was given. Every EC2 id comes
    from `moto.ec2.utils.random_id`; during `given_id` the requested one is answered instead."""
    pending = getattr(_given_ids, "pending", None)
    if pending is not None and pending[0] == prefix:
        _given_ids.pending = None
        return pending[1]
    return _ORIGINALS["ec2-given-ids"](prefix, size)


# 13. DynamoDB: one request at a time, as each write is atomic --------------------------------------------------------

_dynamodb_lock = threading.RLock()


def dynamodb_one_request_at_a_time(self: DynamoHandler) -> Any:
    """moto checks a condition expression against the stored item, then writes, with nothing in between that
    stops another thread: two conditional PutItems of the same new key (`attribute_not_exists`) from two handler
    threads can both succeed, so two deliveries of one event both got Powertools' idempotency claim and both ran.
    In DynamoDB "individual write operations such as UpdateItem are atomic and always operate on the most recent
    version of the item, regardless of concurrency" (https://docs.aws.amazon.com/amazondynamodb/latest/
    developerguide/BestPractices_ImplementingVersionControl.html). Serving one DynamoDB request at a time makes
    each one atomic; reads too, so that none sees an item half-written."""
    with _dynamodb_lock:
        return _ORIGINALS["dynamodb-atomic-requests"](self)


# 14. Operations: SNS subscriptions, dashboards, AWS managed policies ------------------------------------------------

CONFIRMED_BY_THE_ENDPOINT = frozenset({"email", "email-json", "http", "https"})
"""SNS protocols whose subscriptions the endpoint's owner must confirm before they receive anything."""


def subscribe_pending_confirmation(self: SNSBackend, topic_arn: str, endpoint: str, protocol: str) -> Subscription:
    """moto confirms every subscription at once (`PendingConfirmation: false`) and delivers to it: an email
    subscription gets every message, and an https one is POSTed to from the test's own process. SNS waits for the
    endpoint's owner: "If the endpoint type is HTTP/S or email ... the endpoint owner must run the
    ConfirmSubscription action to confirm the subscription" (https://docs.aws.amazon.com/sns/latest/api/
    API_Subscribe.html), and a subscription pending confirmation receives no message. The emulator sends no
    confirmation (no mail, no request leaves the process), so such a subscription stays pending, as one nobody
    confirms does on AWS."""
    subscription: Subscription = _ORIGINALS["sns-subscription-confirmation"](self, topic_arn, endpoint, protocol)
    if protocol in CONFIRMED_BY_THE_ENDPOINT:
        subscription.attributes["PendingConfirmation"] = "true"
        subscription.attributes["ConfirmationWasAuthenticated"] = "false"
    return subscription


def deliver_when_confirmed(self: Subscription, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
    """moto delivers every message to every subscription; SNS delivers none to one pending confirmation (see
    `subscribe_pending_confirmation`)."""
    if self.attributes.get("PendingConfirmation") == "true":
        return
    _ORIGINALS["sns-pending-not-delivered"](self, message, message_id, *args, **kwargs)


DASHBOARD_WIDGETS_MAX = 500
WIDGET_LIMITS = {"x": (0, 23), "y": (0, None), "width": (1, 24), "height": (1, 1000)}
"""The dashboard body's documented bounds (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/
CloudWatch-Dashboard-Body-Structure.html): up to 500 widgets on a grid 24 columns wide, each 1-1000 rows high."""


def put_dashboard_checked(self: CloudWatchResponse) -> Any:
    """moto checks only that a dashboard body is JSON. PutDashboard refuses (InvalidParameterInput, with the
    problems as data paths) a body that does not have the documented structure: an object whose `widgets` array
    holds objects, each with a `type` and its `properties` (a text widget its `markdown`), inside the grid's bounds
    (`WIDGET_LIMITS`). That structure is checked here before moto stores the body."""
    try:
        document = json.loads(self._get_param("DashboardBody") or "")
    except ValueError:
        return _ORIGINALS["cloudwatch-dashboard-body"](self)  # moto's own "Body is invalid JSON"
    problems = dashboard_problems(document)
    if problems:
        details = ", ".join(f'{{"dataPath": "{path}", "message": "{message}"}}' for path, message in problems)
        raise DashboardInvalidInputError(
            f"The dashboard body is invalid, there are {len(problems)} validation errors: [{details}]"
        )
    return _ORIGINALS["cloudwatch-dashboard-body"](self)


def dashboard_problems(document: Any) -> list[tuple[str, str]]:
    """(data path, what is wrong) for each way `document` breaks the dashboard body structure."""
    if not isinstance(document, dict):
        return [("", "Should be object")]
    widgets = document.get("widgets")
    if not isinstance(widgets, list):
        return [("", "Should have required property 'widgets'" if widgets is None else "/widgets Should be array")]
    problems: list[tuple[str, str]] = []
    if len(widgets) > DASHBOARD_WIDGETS_MAX:
        problems.append(("/widgets", f"Should NOT have more than {DASHBOARD_WIDGETS_MAX} items"))
    for index, widget in enumerate(widgets):
        path = f"/widgets/{index}"
        if not isinstance(widget, dict):
            problems.append((path, "Should be object"))
            continue
        for required in ("type", "properties"):
            if required not in widget:
                problems.append((path, f"Should have required property '{required}'"))
        if "properties" in widget and not isinstance(widget["properties"], dict):
            problems.append((f"{path}/properties", "Should be object"))
        elif widget.get("type") == "text" and "markdown" not in widget.get("properties", {}):
            problems.append((f"{path}/properties", "Should have required property 'markdown'"))
        for name, (low, high) in WIDGET_LIMITS.items():
            value = widget.get(name, low)
            if not isinstance(value, int) or value < low or (high is not None and value > high):
                bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
                problems.append((f"{path}/{name}", f"Should be an integer {bounds}"))
    return problems


def attach_aws_managed_policy(self: IAMBackend, policy_arn: str, role_name: str) -> None:
    """Every account has AWS's managed policies (`arn:aws:iam::aws:policy/...`); moto loads none of them unless
    told to load all ~1,600 into every account it creates (`iam.load_aws_managed_policies`), so attaching one fails
    with NoSuchEntity. The one attached is loaded here, from moto's own copy of AWS's managed policies."""
    if policy_arn not in self.managed_policies and policy_arn in _aws_managed_policies():
        name, data = _aws_managed_policies()[policy_arn]
        policy = AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
        self.managed_policies[policy.arn] = policy
    _ORIGINALS["iam-aws-managed-policies"](self, policy_arn, role_name)


@functools.cache
def _aws_managed_policies() -> dict[str, tuple[str, dict[str, Any]]]:
    """moto's copy of AWS's managed policies, by ARN: (name, policy data)."""
    policies = json.loads(aws_managed_policies_data)
    return {f"arn:aws:iam::aws:policy{data['Path']}{name}": (name, data) for name, data in policies.items()}


# The registry ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adaptation:
    name: str
    owner: Any
    """The moto module or class whose attribute is replaced."""
    attribute: str
    replacement: Any
    why: str
    """The limit or bug it works around, with the upstream issue where there is one."""
    guards: tuple[str, ...] = ()
    """`module:qualname` of the moto code the replacement relies on, beyond the replaced attribute itself: its
    callers, or the code that uses a replaced value. Their source, with the replaced attribute's, is pinned."""

    def guarded(self) -> list[str]:
        """Every piece of moto code whose source the adaptation is pinned to: the replaced attribute where moto
        defines it (a base class, for an inherited method) when it is code, and the guards."""
        if isinstance(self.owner, ModuleType):
            if not callable(vars(self.owner)[self.attribute]):
                return list(self.guards)
            return [f"{self.owner.__name__}:{self.attribute}", *self.guards]
        definer = next(c for c in self.owner.__mro__ if self.attribute in vars(c))
        return [f"{definer.__module__}:{definer.__qualname__}.{self.attribute}", *self.guards]


_SFN = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service"
ADAPTATIONS: tuple[Adaptation, ...] = (
    Adaptation("lambda-in-process", LambdaFunction, "invoke", invoke_in_process,
               "https://github.com/getmoto/moto/issues/9916: no in-process Lambda execution",
               ("moto.awslambda.models:LambdaBackend.invoke",)),
    Adaptation("s3-event-shape", s3_notifications, "_send_event_bridge_message", send_object_created,
               "moto's S3 EventBridge events: one fixed id and sequencer, `eTag`, `version-id: null`, delivery "
               "errors swallowed (no upstream issue found)", ("moto.s3.notifications:send_event",)),
    Adaptation("eventbridge-pattern-arrays", EventPattern, "matches_event", matches_event,
               "moto's event patterns do not reach the objects in an array, and take an empty array or object for a "
               "present field (no upstream issue found)",
               ("moto.events.models:EventPattern._does_event_match",
                "moto.events.models:EventPattern._does_item_match_filters",
                "moto.events.models:EventPattern._does_item_match_named_filter")),
    Adaptation("eventbridge-targets", Rule, "send_to_targets", send_to_targets,
               "moto's EventBridge rules cannot target Step Functions or SNS (NotImplementedError) "
               "and its own unnamed starts collide on `...:None`"),
    Adaptation("ecs-run-container", EC2ContainerServiceBackend, "run_task", run_task,
               "moto records ECS tasks but runs no container (by design) and sends no task state change event"),
    Adaptation("sfn-integration-parameters", state_task_service.StateTaskService, "_normalise_parameters",
               integration_parameters, "https://github.com/getmoto/moto/issues/10076: PascalCase parameters "
               "reach boto3", (f"{_SFN}.state_task_service:StateTaskService._to_boto_request",)),
    Adaptation("sfn-integration-response", state_task_service.StateTaskService, "_normalise_response",
               integration_response, "https://github.com/getmoto/moto/issues/10076: responses are not recased",
               (f"{_SFN}.state_task_service:StateTaskService._from_boto_response",)),
    Adaptation("ecs-sfn-sync-failure", state_task_service_ecs.StateTaskServiceEcs, "_build_sync_resolver",
               ecs_sync_resolver, "https://github.com/getmoto/moto/issues/10076: `.sync` reads camelCase as "
               "PascalCase and never fails a task"),
    Adaptation("aws-sdk-service-names", state_task_service_aws_sdk.StateTaskServiceAwsSdk, "_get_boto_service_name",
               aws_sdk_boto_service_name, "moto's aws-sdk integration hands `rdsdata` to boto3, which knows "
               "`rds-data` (no upstream issue found)"),
    Adaptation("aws-sdk-error-names", state_task_service_aws_sdk, "_SERVICE_ERROR_NAMES",
               {**state_task_service_aws_sdk._SERVICE_ERROR_NAMES, "rdsdata": "RdsData"},
               "moto names Data API errors `rdsdata.*`, where Step Functions says `RdsData.*`, so the "
               "workflow's Retry on RdsData.DatabaseResumingException would never match",
               (f"{_SFN}.state_task_service_aws_sdk:StateTaskServiceAwsSdk._normalise_service_error_name",)),
    *(Adaptation(f"sfn-role-clients-{module.__name__.rsplit('.', 1)[-1]}", module, "boto_client_for", role_clients,
                 "moto's boto_client_for signs every integration call with the same fake keys (whose call it is "
                 "cannot be told) through a new client of boto3's default session (not thread-safe)")
      for module in _CLIENT_USERS),
    Adaptation("ecs-sfn-run-task-failures", state_task_service_ecs.StateTaskServiceEcs, "_eval_service_task",
               ecs_service_task, "moto reads `Tasks[0]` of a RunTask answer that lists failures (IndexError) "
               "where Step Functions fails a `.sync` task with AmazonECS.Unknown"),
    Adaptation("ecs-sfn-error-names", state_task_service_ecs.StateTaskServiceEcs, "_from_error", ecs_error,
               "moto's ECS integration turns every ECS API error into States.Runtime, where Step Functions reports "
               "it as ECS.<Code> (a Catch handles it)"),
    Adaptation("sfn-choice-missing-path", ComparisonVariable, "_eval_body", comparison_on_missing_path,
               "moto compares a missing path as false where Step Functions fails with States.Runtime",
               ("moto.stepfunctions.parser.asl.component.state.choice.comparison.variable:Variable._eval_body",)),
    Adaptation("sfn-runtime-uncatchable", ErrorEqualsDecl, "_eval_body", error_equals_never_runtime,
               "moto's States.ALL matches States.Runtime, which Step Functions never retries or catches"),
    Adaptation("sfn-task-parameter-path", StateTask, "_eval_parameters", task_parameters_or_runtime_error,
               "moto reports a task's missing parameter path as the service's error, which a Catch handles, where "
               "Step Functions fails the execution with States.Runtime",
               ("moto.stepfunctions.parser.asl.component.state.exec.execute_state:ExecutionState._from_error",)),
    Adaptation("sfn-parse-once", ExecutionWorker, "_get_evaluation_entrypoint", evaluation_entrypoint,
               "moto parses the definition with ANTLR for every execution (performance only)"),
    Adaptation("jsonpath-literal-index", json_path, "_is_singleton_array_access", every_index_is_literal,
               "moto's extract_json (its fix for getmoto/moto#7825) returns a list for `$.a[0].b`",
               ("moto.stepfunctions.parser.asl.utils.json_path:extract_json",)),
    Adaptation("policy-condition-not-met", IAMPolicyStatement, "is_action_permitted", policy_statement_permits,
               "moto takes conditions it cannot evaluate as met, so a TLS-only bucket policy denies every "
               "PutObject (no upstream issue found)", ("moto.iam.access_control:IAMPolicyStatement._check_conditions",
                                                       "moto.iam.policy_conditions:TrustCondition.verify_condition")),
    Adaptation("ec2-given-ids", ec2_utils, "random_id", random_id,
               "moto's EC2 ids are always random (its `_custom_id_` tags are not read by EC2)",
               ("moto.ec2.utils:random_vpc_id", "moto.ec2.utils:random_subnet_id",
                "moto.ec2.utils:random_security_group_id")),
    Adaptation("data-api-postgres", rdsdata_urls, "url_paths", {f"{{0}}{path}$": data_api_request
                                                                  for path in _DATA_API_PATHS},
               "moto's Data API runs no SQL (its own docstring) and has no transactions or batches (not routed)",
               ("moto.rdsdata.responses:RDSDataServiceResponse.execute_statement",
                "moto.rdsdata.models:RDSDataServiceBackend.execute_statement",
                "moto.core.base_backend:BaseBackend.urls")),
    Adaptation("dynamodb-atomic-requests", DynamoHandler, "call_action", dynamodb_one_request_at_a_time,
               "moto's conditional writes are not atomic between threads: two writes conditioned on the same item "
               "can both succeed (no upstream issue found)",
               ("moto.dynamodb.models:DynamoDBBackend.put_item", "moto.dynamodb.models.table:Table.put_item")),
    Adaptation("sns-subscription-confirmation", SNSBackend, "subscribe", subscribe_pending_confirmation,
               "moto confirms email and HTTP/S subscriptions at once; SNS leaves them pending until the endpoint "
               "confirms (no upstream issue found)"),
    Adaptation("sns-pending-not-delivered", Subscription, "publish", deliver_when_confirmed,
               "moto delivers to every subscription, confirmed or not (an https one with a real request)",
               ("moto.sns.models:Topic.publish",)),
    Adaptation("cloudwatch-dashboard-body", CloudWatchResponse, "put_dashboard", put_dashboard_checked,
               "moto checks only that a dashboard body is JSON; PutDashboard checks its structure"),
    Adaptation("iam-aws-managed-policies", IAMBackend, "attach_role_policy", attach_aws_managed_policy,
               "moto has no AWS managed policy unless it loads all of them into every account",
               ("moto.iam.models:AWSManagedPolicy.from_data", "moto.iam.models:IAMBackend._init_aws_policies")),
)  # fmt: skip
SOURCE_SHA256: dict[str, str] = {
    "lambda-in-process": "9505456ebba56022d3600c462c71c9c2c7017812a3f4e56e69f7a3c3d5098941",
    "s3-event-shape": "3c4e3362164718ad32a5ec78a85856f595e8412a3a698516bc39c6334753e411",
    "eventbridge-targets": "472e002e2dab8a599554a7d6c7ea0910625a5b39c7699b9ca4404255efcfc172",
    "ecs-run-container": "9876e846f6227ca6f3e8a9933bb084a54d2fb4d9a60d0fce72d9c9fdcc071e0b",
    "sfn-integration-parameters": "25a0c94f66cbd24b0d885f82a9734b2dcf60ecd1741b382234e5c84ca4b9ac05",
    "sfn-integration-response": "75a5294cca9d244d252c8d23b234de9c2465352fa2f300f931b1ed4343b64b4a",
    "ecs-sfn-sync-failure": "6c540791a32b16b1c6bca0fcd6773ebac7174b0b0c49a30893376d560e972c51",
    "aws-sdk-service-names": "89e578864a3def4dff225070b8fc5846b72577531f5b588bfbdfeaf60204d13e",
    "aws-sdk-error-names": "7fccfad3463f0276b518ddaa5f72fa9b4f1b250837de727db16577c1b5627149",
    "sfn-parse-once": "2b25949ae855da8035b347b28ac72f90d7d6542bf26ef7e1f03a50ce6a981fde",
    "jsonpath-literal-index": "a7999cb833522388e13731e5176182568b7290381d5c62daf2a9b420e24647e0",
    "policy-condition-not-met": "8df718ef003402f0b340b72bc5b15a25da890586f1924ee5d48fd7ba7200636e",
    "ec2-given-ids": "c8fd23b9393a965be7f19ce799d11ef29460afdece3b80baf1712ef5b10219d2",
    "data-api-postgres": "a6d63047ec9c0582bcb3bc2e8707b8f413e2a66b7a3c398a172f7aef9270b4f5",
    "sfn-role-clients-lambda_eval_utils": "1f44dc2ac8aa2179df62365a6e5ea377f1770ea828a0f107440a2554f1b4edb8",
    "sfn-role-clients-state_task_service_ecs": "1f44dc2ac8aa2179df62365a6e5ea377f1770ea828a0f107440a2554f1b4edb8",
    "sfn-role-clients-state_task_service_sfn": "1f44dc2ac8aa2179df62365a6e5ea377f1770ea828a0f107440a2554f1b4edb8",
    "sfn-role-clients-state_task_service_dynamodb": "1f44dc2ac8aa2179df62365a6e5ea377f1770ea828a0f107440a2554f1b4edb8",
    "sfn-role-clients-state_task_service_aws_sdk": "1f44dc2ac8aa2179df62365a6e5ea377f1770ea828a0f107440a2554f1b4edb8",
    "ecs-sfn-run-task-failures": "3ef35a6a2cb60d432bbbef57b874483606c1526e28e8caa503cfc18498359261",
    "ecs-sfn-error-names": "1b5fce896077838065829de102fa3780e4f8a63b047fa03b4e9bd79dd32c8736",
    "sfn-choice-missing-path": "30f104ae1280936f5bfc7f704690adbe526383fabc95d6f6f91d37483e3bf8c6",
    "sfn-runtime-uncatchable": "aeda14a0cc01747d7fe2e620ba35c9c78b43178fbb03665b8578c206f196b019",
    "sfn-task-parameter-path": "8938a2fb8ed932e8bfced26f192b996c87e4f5ffc615ced3fbf437ac71a762eb",
    "eventbridge-pattern-arrays": "52220c4a4c5a060802f791e6d7842d97312230eb176df402d0400a8d5c4b573d",
    "sns-subscription-confirmation": "56ded2dae9faa4d9d5a7305fc984158ef32be983e388d11df3f83ad82ac02817",
    "sns-pending-not-delivered": "8027b94bade78ff8defff05f1d54c2c4a2247018151387a6cc656dc4d4540ce5",
    "dynamodb-atomic-requests": "ad82f7640dd930903a533fdce2a700e7c027c666eae5286a357263bdd73b2fe6",
    "cloudwatch-dashboard-body": "f1906622aedf9a386c1f3ab6116c073682e1916a39de54a86679660e586428f5",
    "iam-aws-managed-policies": "b160021109e85d7c1a296128fc44e3546b861fb5633ccbb1ff26dcdafc853c1a",
}
"""Adaptation -> SHA-256 of the moto source it is pinned to, in moto 5.2.5 (see `pinned_source`)."""


def pinned_source(adaptation: Adaptation) -> str:
    """The source of every piece of moto code the adaptation is pinned to, as moto defines it."""
    if _hooks is not None:
        raise RuntimeError("read the pinned source with the adaptations removed, not while a local cloud runs")
    sources = []
    for path in adaptation.guarded():
        module_name, _, qualname = path.partition(":")
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part) if not isinstance(target, type) else vars(target)[part]
        target = target.fget if isinstance(target, property) else getattr(target, "__func__", target)
        sources.append(inspect.getsource(target))
    return "\n".join(sources)


_ORIGINALS: dict[str, Any] = {}
_OVERRIDDEN: dict[str, Any] = {}
_INHERITED = object()
"""Marks an attribute the owner inherits: restoring it means deleting the override."""


def original(adaptation: Adaptation) -> Any:
    """The attribute the adaptation replaces, as moto defines it (possibly inherited from a base class)."""
    return getattr(adaptation.owner, adaptation.attribute)


@contextmanager
def applied(local_hooks: Hooks) -> Iterator[Hooks]:
    """Apply every adaptation (and hold ECS tasks RUNNING until their container exits) for the duration."""
    global _hooks
    if _hooks is not None:
        raise RuntimeError("the adaptations are already applied: one local cloud at a time")
    _hooks = local_hooks
    for adaptation in ADAPTATIONS:
        _ORIGINALS[adaptation.name] = original(adaptation)
        own = vars(adaptation.owner).get(adaptation.attribute, _INHERITED)
        _OVERRIDDEN[adaptation.name] = own
        setattr(adaptation.owner, adaptation.attribute, adaptation.replacement)
    state_manager.set_transition(ECS_TASK_MODEL, {"progression": "manual", "times": 2**62})
    try:
        yield local_hooks
    finally:
        state_manager.unset_transition(ECS_TASK_MODEL)
        for adaptation in ADAPTATIONS:
            own = _OVERRIDDEN.pop(adaptation.name)
            if own is _INHERITED:
                delattr(adaptation.owner, adaptation.attribute)
            else:
                setattr(adaptation.owner, adaptation.attribute, own)
            _ORIGINALS.pop(adaptation.name)
            if isinstance(adaptation.replacement, RoleClients):
                adaptation.replacement.reset()
        with _programs_lock:
            _programs.clear()
        _hooks = None
