"""Step Functions (baseline §5): every execution's history logged to a log group at level ALL or ERROR (a stack's
config may require ALL), and traced with X-Ray; and, read from the definitions, whether a workload is handed a public
IP (the dev trade-off for having no NAT or endpoints)."""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import COST, as_list, resource_rule

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
ECS_SERVICE = "aws:ecs/service:Service"
HISTORY_LEVELS = ("ALL", "ERROR")
"""The logging levels a state machine may have (components.profile.HistoryLevel, which the pack cannot import): an
Express workflow keeps no history but its log group, so FATAL would leave its failed executions without the state
that failed, and OFF without any record."""
ALLOWED_LEVELS = "allowedLevels"
"""The config property by which a stack narrows HISTORY_LEVELS (prod: ALL, every execution's audit trail)."""


def _check_logging(args: ResourceValidationArgs) -> Iterable[str]:
    logging = args.props.get("loggingConfiguration") or {}
    level = logging.get("level")
    allowed = args.get_config().get(ALLOWED_LEVELS, HISTORY_LEVELS)
    if level not in HISTORY_LEVELS:
        yield (f"logging level is {level!r}; expected ALL or ERROR: at FATAL a failed execution logs only its end, "
               "at OFF nothing, and an Express workflow has no other history")  # fmt: skip
    elif level not in allowed:
        yield f"logging level is {level!r}; this stack's config allows only {' or '.join(allowed)}"
    if not logging.get("logDestination"):
        yield "no log destination: executions leave no history in CloudWatch Logs"


def _check_tracing(args: ResourceValidationArgs) -> Iterable[str]:
    if (args.props.get("tracingConfiguration") or {}).get("enabled") is not True:
        yield "X-Ray tracing is off"


def task_states(definition: Any) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every Task state of an ASL document, including those nested in Parallel branches and Map iterators."""
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except ValueError:
            return
    if not isinstance(definition, Mapping):
        return
    for name, state in (definition.get("States") or {}).items():
        if not isinstance(state, Mapping):
            continue
        if state.get("Type") == "Task":
            yield str(name), state
        for branch in as_list(state.get("Branches")):
            yield from task_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), Mapping):
                yield from task_states(state[key])


def _public_ip_tasks(definition: Any) -> list[str]:
    found = []
    for name, state in task_states(definition):
        if ":ecs:runTask" not in str(state.get("Resource", "")):
            continue
        network = ((state.get("Parameters") or {}).get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
        if network.get("AssignPublicIp") == "ENABLED":
            found.append(name)
    return found


def _check_public_ips(args: ResourceValidationArgs) -> Iterable[str]:
    if args.resource_type == ECS_SERVICE:
        if (args.props.get("networkConfiguration") or {}).get("assignPublicIp") is True:
            yield "the service's tasks get public IPs"
        return
    tasks = _public_ip_tasks(args.props.get("definition"))
    if tasks:
        yield f"states {tasks} run ECS tasks with a public IP (AssignPublicIp ENABLED)"


POLICIES = [
    resource_rule(
        name="sfn-logging",
        description="State machines log their execution history to a log group at level ALL or ERROR (never FATAL "
        "or OFF); a stack's config may require ALL",
        severity=Severity.MEDIUM,
        remediation="Set the profile's `workflow.history.level` to ALL or ERROR (ALL where the stack's config requires "
        "it); components.workflow then logs at that level to the workflow's own log group.",
        types=[STATE_MACHINE],
        check=_check_logging,
        controls=["StepFunctions.1", "AwsSolutions-SF1"],
        config={
            ALLOWED_LEVELS: {
                "type": "array",
                "items": {"type": "string", "enum": list(HISTORY_LEVELS)},
                "minItems": 1,
                "default": list(HISTORY_LEVELS),
                "description": "The logging levels this stack's state machines may have",
            }
        },
    ),
    resource_rule(
        name="sfn-xray-tracing",
        description="State machines trace with X-Ray",
        severity=Severity.LOW,
        remediation="Set tracing_configuration={'enabled': True}.",
        types=[STATE_MACHINE],
        check=_check_tracing,
        controls=["AwsSolutions-SF2"],
    ),
    resource_rule(
        name="no-public-ip-for-workloads",
        description="No workload runs with a public IP: tasks reach AWS through a NAT gateway or VPC endpoints",
        severity=Severity.MEDIUM,
        remediation="Set the profile's `network.egress` to 'endpoints' (no internet route at all) or 'nat'; the "
        "worker then runs in private subnets with AssignPublicIp DISABLED.",
        types=[STATE_MACHINE, ECS_SERVICE],
        check=_check_public_ips,
        controls=["ECS.2", "EC2 private workloads"],
        relaxable=COST,
    ),
]
