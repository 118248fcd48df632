"""Step Functions (baseline §5): every execution logged at level ALL to a log group, and traced with X-Ray; and, read
from the definitions, whether a workload is handed a public IP (the dev trade-off for having no NAT or endpoints)."""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import COST, as_list, resource_rule

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
ECS_SERVICE = "aws:ecs/service:Service"


def _check_logging(args: ResourceValidationArgs) -> Iterable[str]:
    logging = args.props.get("loggingConfiguration") or {}
    if logging.get("level") != "ALL":
        yield f"logging level is {logging.get('level')!r}; ALL records every state transition"
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
        name="sfn-logging-all",
        description="State machines log every event (level ALL) to a log group",
        severity=Severity.MEDIUM,
        remediation="Set logging_configuration level 'ALL' with a log_destination of the workflow's own log group "
        "(components.workflow does).",
        types=[STATE_MACHINE],
        check=_check_logging,
        controls=["StepFunctions.1", "AwsSolutions-SF1"],
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
